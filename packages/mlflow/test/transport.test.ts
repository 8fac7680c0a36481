import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Agent } from "undici";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import {
  createMlflowClient,
  MlflowError,
  MlflowRegistrationTimeoutError,
  MlflowUnavailableError,
  type MlflowClient,
} from "../src/index.js";
import { rejectionOf } from "./helpers.js";

const SECRET = "s3cr3t-token-value";
const mlflowUrl = inject("infra").mlflowUrl;

/** What a test opened; closed after it, whatever happened. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track(client: MlflowClient): MlflowClient {
  cleanups.push(() => client.close());
  return client;
}

/** A TCP server that accepts connections, then does `onConnection` (by default: nothing, ever). */
async function startRawServer(onConnection: (socket: Socket) => void = () => {}): Promise<{ url: string; connections: () => number }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => count };
}

/** A port nothing listens on: bind one, then close it. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

function expectNoSecret(err: unknown): void {
  const seen = [String(err), JSON.stringify(err), err instanceof Error ? String(err.cause) : ""].join("\n");
  expect(seen).not.toContain(SECRET);
}

describe("against the live server", () => {
  const client = createMlflowClient({ baseUrl: mlflowUrl });
  afterAll(() => client.close());

  it("is healthy and reports its version", async () => {
    expect(await client.health()).toBe(true);
    expect(await client.version()).toMatch(/^3\.\d+\.\d+/);
    const ping = await client.ping();
    expect(ping.ok).toBe(true);
    expect(ping.error).toBeNull();
    expect(ping.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("rejects with the caller's reason when the caller aborts", async () => {
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    controller.abort(reason);
    expect(await rejectionOf(client.version({ signal: controller.signal }))).toBe(reason);
  });

  it("uses a dispatcher passed in and leaves it open on close()", async () => {
    const agent = new Agent();
    cleanups.push(() => agent.close());
    const borrowed = createMlflowClient({ baseUrl: mlflowUrl, dispatcher: agent });
    expect(await borrowed.health()).toBe(true);
    await borrowed.close();
    const again = track(createMlflowClient({ baseUrl: mlflowUrl, dispatcher: agent }));
    expect(await again.health()).toBe(true);
  });

  it("fails calls after close()", async () => {
    const closing = createMlflowClient({ baseUrl: mlflowUrl });
    await closing.close();
    const err = await rejectionOf(closing.health());
    expect(err).toBeInstanceOf(MlflowError);
    expect((err as Error).message).toContain("closed");
  });
});

describe("when MLflow is not there", () => {
  it("reports a closed port as MlflowUnavailableError (refused)", async () => {
    const url = await closedPortUrl();
    const client = track(createMlflowClient({ baseUrl: url, headers: { authorization: `Bearer ${SECRET}` } }));
    const err = await rejectionOf(client.getRun("abc"));
    expect(err).toBeInstanceOf(MlflowUnavailableError);
    const unavailable = err as MlflowUnavailableError;
    expect(unavailable.code).toBe("UNAVAILABLE");
    expect(unavailable.reason).toBe("refused");
    expect(unavailable.message).toContain("connection refused");
    expect(unavailable.message).toContain("/api/2.0/mlflow/runs/get");
    expectNoSecret(err);

    await expect(client.health()).rejects.toBeInstanceOf(MlflowUnavailableError);
    const ping = await client.ping();
    expect(ping.ok).toBe(false);
    expect(ping.error).toContain("connection refused");
  });

  it("times out a server that accepts but never answers, honouring the per-call timeout", async () => {
    const silent = await startRawServer();
    // The default is far above the test timeout: only the per-call value can end this call.
    const client = track(createMlflowClient({ baseUrl: silent.url, timeoutMs: 600_000, headers: { "x-api-key": SECRET } }));
    const err = await rejectionOf(client.getExperiment("1", { timeoutMs: 300 }));
    expect(err).toBeInstanceOf(MlflowUnavailableError);
    expect((err as MlflowUnavailableError).reason).toBe("timeout");
    expect((err as Error).message).toContain("within 300 ms");
    expect(silent.connections()).toBe(1);
    expectNoSecret(err);
  });

  it("applies the client's default timeout to every call", async () => {
    const silent = await startRawServer();
    const client = track(createMlflowClient({ baseUrl: silent.url, timeoutMs: 250 }));
    const err = await rejectionOf(client.version());
    expect((err as MlflowUnavailableError).reason).toBe("timeout");
    expect((err as Error).message).toContain("within 250 ms");
    const ping = await client.ping();
    expect(ping.ok).toBe(false);
  });

  it("times out a body that stops half way", async () => {
    const stalling = await startRawServer((socket) => {
      socket.once("data", () => socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"run\":"));
    });
    const client = track(createMlflowClient({ baseUrl: stalling.url, timeoutMs: 300 }));
    const err = await rejectionOf(client.getRun("abc"));
    expect(err).toBeInstanceOf(MlflowUnavailableError);
    expect((err as MlflowUnavailableError).reason).toBe("timeout");
  });

  it("keeps waiting for a model version through outages, then gives up with TIMEOUT", async () => {
    const client = track(createMlflowClient({ baseUrl: await closedPortUrl() }));
    const err = await rejectionOf(client.waitForModelVersionReady("m", 1, { timeoutMs: 300, intervalMs: 50 }));
    expect(err).toBeInstanceOf(MlflowRegistrationTimeoutError);
    expect((err as MlflowRegistrationTimeoutError).code).toBe("TIMEOUT");
    expect((err as MlflowRegistrationTimeoutError).lastStatus).toBeNull();
    expect((err as Error).cause).toBeInstanceOf(MlflowUnavailableError);
  });

  it("stops waiting for a model version when the caller aborts", async () => {
    const client = track(createMlflowClient({ baseUrl: await closedPortUrl() }));
    const controller = new AbortController();
    const reason = new Error("shutting down");
    const waiting = rejectionOf(client.waitForModelVersionReady("m", 1, { timeoutMs: 60_000, intervalMs: 20, signal: controller.signal }));
    setTimeout(() => controller.abort(reason), 50);
    expect(await waiting).toBe(reason);
  });

  it("refuses a timeout that cannot bound a call", async () => {
    expect(() => createMlflowClient({ baseUrl: mlflowUrl, timeoutMs: 0 })).toThrow(MlflowError);
    const client = track(createMlflowClient({ baseUrl: mlflowUrl }));
    await expect(client.version({ timeoutMs: Number.NaN })).rejects.toBeInstanceOf(MlflowError);
  });

  it("reports a connection closed without an answer as reset", async () => {
    const slamming = await startRawServer((socket) => socket.once("data", () => socket.destroy()));
    const client = track(createMlflowClient({ baseUrl: slamming.url }));
    const err = await rejectionOf(client.version());
    expect(err).toBeInstanceOf(MlflowUnavailableError);
    expect((err as MlflowUnavailableError).reason).toBe("reset");
  });
});

describe("credentials", () => {
  it("sends URL credentials as Basic auth and never shows them", async () => {
    let seen: IncomingHttpHeaders = {};
    const server = createHttpServer((req, res) => {
      seen = req.headers;
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error_code: "TEMPORARILY_UNAVAILABLE", message: "warming up" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;

    const client = track(createMlflowClient({ baseUrl: `http://asgard:${SECRET}@127.0.0.1:${port}/prefix/` }));
    expect(await client.health()).toBe(false);
    const err = await rejectionOf(client.getRegisteredModel("m"));
    expect(err).toBeInstanceOf(MlflowUnavailableError);
    expect((err as MlflowUnavailableError).reason).toBe("server_error");
    expect((err as MlflowUnavailableError).httpStatus).toBe(503);
    expect((err as Error).message).toContain("/prefix/api/2.0/mlflow/registered-models/get?name=m");
    expectNoSecret(err);
    expect(seen.authorization).toBe(`Basic ${Buffer.from(`asgard:${SECRET}`).toString("base64")}`);
  });
});
