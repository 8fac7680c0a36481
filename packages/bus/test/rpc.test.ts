import type { RpcDef } from "@asgard/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { BusError, RemoteError, TIMEOUT_HEADER, type Bus } from "../src/index.js";
import { memoryLogger, openBus, rawConnection, signal, uid } from "./helpers.js";

const AddRequest = z.object({ a: z.number(), b: z.number() });
const AddResponse = z.object({ sum: z.number(), servedBy: z.string() });

function addRpc(): RpcDef<typeof AddRequest, typeof AddResponse> {
  return { subject: `rpc.test.${uid()}.add`, request: AddRequest, response: AddResponse, timeoutMs: 2_000, description: "adds" };
}

describe("request/reply", () => {
  let server: Bus;
  let client: Bus;
  const serverLog = memoryLogger();

  beforeAll(async () => {
    server = await openBus(undefined, serverLog);
    client = await openBus();
  });
  afterAll(async () => {
    await server?.close();
    await client?.close();
  });

  it("returns the handler's result and passes headers", async () => {
    const def = addRpc();
    const svc = server.serve(def, async (req, ctx) => ({ sum: req.a + req.b, servedBy: ctx.headers["x-caller"] ?? "?" }));
    await server.rtt(); // the subscription has reached the server
    await expect(client.request(def, { a: 2, b: 3 }, { headers: { "x-caller": "me" } })).resolves.toEqual({
      sum: 5,
      servedBy: "me",
    });
    await svc.stop();
  });

  it("answers VALIDATION_FAILED with issues for a request that fails the schema", async () => {
    const def = addRpc();
    let called = false;
    const svc = server.serve(def, async () => {
      called = true;
      return { sum: 0, servedBy: "x" };
    });
    await server.rtt(); // the subscription has reached the server
    // Sent around the client-side check, as another implementation might.
    const raw = await rawConnection();
    const reply = await raw.request(def.subject, JSON.stringify({ a: "two" }), { timeout: 2_000 });
    expect(reply.json()).toEqual({
      ok: false,
      error: {
        code: "VALIDATION_FAILED",
        message: expect.stringContaining("a, b"),
        issues: [
          { field: "a", message: expect.any(String) },
          { field: "b", message: expect.any(String) },
        ],
      },
    });
    const notJson = await raw.request(def.subject, "{", { timeout: 2_000 });
    expect(notJson.json()).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
    expect(called).toBe(false);
    await raw.close();
    await svc.stop();
  });

  it("checks the request on the client side too", async () => {
    const def = addRpc();
    const err = await client.request(def, { a: 1 } as unknown as { a: number; b: number }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).not.toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: "VALIDATION_FAILED", issues: [{ field: "b" }] });
  });

  it("sends a request marked validated without checking it, and the server still refuses a bad one", async () => {
    const def = addRpc();
    let called = 0;
    const svc = server.serve(def, async (req) => {
      called++;
      return { sum: req.a + req.b, servedBy: "x" };
    });
    await server.rtt(); // the subscription has reached the server
    await expect(client.request(def, { a: 2, b: 3 }, { validated: true })).resolves.toEqual({ sum: 5, servedBy: "x" });
    const err = await client.request(def, { a: 1 } as unknown as { a: number; b: number }, { validated: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: "VALIDATION_FAILED", issues: [{ field: "b" }] });
    expect(called).toBe(1);
    await svc.stop();
  });

  it("propagates a thrown BusError's code, message and issues as a RemoteError", async () => {
    const def = addRpc();
    const svc = server.serve(def, async () => {
      throw new BusError("CONFLICT", "already adding", { issues: [{ field: "a", message: "busy" }] });
    });
    await server.rtt(); // the subscription has reached the server
    const err = await client.request(def, { a: 1, b: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: "CONFLICT", message: "already adding", issues: [{ field: "a", message: "busy" }] });
    await svc.stop();
  });

  it("carries a thrown BusError's retry-after to the caller, and leaves it out when there is none", async () => {
    const def = addRpc();
    const svc = server.serve(def, async (req) => {
      if (req.a > 0) throw new BusError("LIMIT_EXCEEDED", "too many", { retryAfterSeconds: 7 });
      throw new BusError("CONFLICT", "no wait");
    });
    await server.rtt(); // the subscription has reached the server
    const limited = await client.request(def, { a: 1, b: 1 }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RemoteError);
    expect(limited).toMatchObject({ code: "LIMIT_EXCEEDED", message: "too many", retryAfterSeconds: 7 });
    const plain = await client.request(def, { a: 0, b: 1 }).catch((e: unknown) => e);
    expect(plain).toMatchObject({ code: "CONFLICT" });
    expect((plain as BusError).retryAfterSeconds).toBeUndefined();
    await svc.stop();
  });

  it("hides the message of an unexpected error behind INTERNAL and logs the real one", async () => {
    const def = addRpc();
    const svc = server.serve(def, async () => {
      throw new Error("secret table name in a stack");
    });
    await server.rtt(); // the subscription has reached the server
    const err = await client.request(def, { a: 1, b: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "INTERNAL", message: "internal error" });
    expect((err as Error).message).not.toContain("secret");
    const logged = serverLog.entries.find((e) => e.obj.rpc === def.subject && e.level === "error");
    expect((logged?.obj.err as Error).message).toBe("secret table name in a stack");
    await svc.stop();
  });

  it("logs an unexpected failure with the trace id the request carried", async () => {
    const def = addRpc();
    const svc = server.serve(def, async () => {
      throw new Error("boom");
    });
    await server.rtt();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await client.request(def, { a: 1, b: 1 }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } }).catch(() => undefined);
    await client.request(def, { a: 2, b: 2 }, { headers: { traceparent: "not a traceparent" } }).catch(() => undefined);
    const logged = serverLog.entries.filter((e) => e.obj.rpc === def.subject && e.msg === "request handler failed");
    expect(logged.map((e) => e.obj.trace_id)).toEqual([traceId, undefined]);
    await svc.stop();
  });

  it("answers INTERNAL when the handler's result does not match the response schema", async () => {
    const def = addRpc();
    const svc = server.serve(def, async () => ({ sum: "five" }) as unknown as { sum: number; servedBy: string });
    await server.rtt(); // the subscription has reached the server
    await expect(client.request(def, { a: 1, b: 1 })).rejects.toMatchObject({ code: "INTERNAL" });
    expect(serverLog.messages("error")).toContain("handler returned a result that does not match its schema");
    await svc.stop();
  });

  it("is UNAVAILABLE with no responder, and says so", async () => {
    const err = await client.request(addRpc(), { a: 1, b: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect(err).toMatchObject({ code: "UNAVAILABLE" });
    expect((err as Error).message).toContain("no service is serving it");
  });

  it("is UNAVAILABLE when the reply does not come in time, and says so", async () => {
    const def = addRpc();
    const svc = server.serve(def, async (req) => {
      await new Promise((r) => setTimeout(r, 1_500));
      return { sum: req.a + req.b, servedBy: "slow" };
    });
    await server.rtt(); // the subscription has reached the server
    const err = await client.request(def, { a: 1, b: 1 }, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "UNAVAILABLE" });
    expect((err as Error).message).toContain("no reply within 200 ms");
    await svc.stop();
  });

  it("tells the handler how long the caller waits: the request's own timeout, else the endpoint's", async () => {
    const def = addRpc(); // the endpoint's timeout is 2,000 ms
    const seen: number[] = [];
    const sent: Array<string | undefined> = [];
    const svc = server.serve(def, async (req, ctx) => {
      seen.push(ctx.remainingMs());
      sent.push(ctx.headers[TIMEOUT_HEADER]);
      return { sum: req.a + req.b, servedBy: "timer" };
    });
    await server.rtt(); // the subscription has reached the server
    await client.request(def, { a: 1, b: 1 }, { timeoutMs: 700 });
    await client.request(def, { a: 1, b: 1 });
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[0]).toBeLessThanOrEqual(700);
    expect(seen[1]).toBeGreaterThan(700);
    expect(seen[1]).toBeLessThanOrEqual(2_000);
    expect(sent).toEqual(["700", "2000"]);
    await svc.stop();
  });

  it("falls back to the endpoint's timeout for a caller that sends no wait", async () => {
    const def = addRpc();
    const seen: number[] = [];
    const svc = server.serve(def, async (req, ctx) => {
      seen.push(ctx.remainingMs());
      return { sum: req.a + req.b, servedBy: "timer" };
    });
    await server.rtt();
    const nc = await rawConnection();
    const reply = await nc.request(def.subject, JSON.stringify({ a: 1, b: 2 }), { timeout: 2_000 });
    expect(reply.json()).toMatchObject({ ok: true, result: { sum: 3 } });
    expect(seen[0]).toBeGreaterThan(700);
    expect(seen[0]).toBeLessThanOrEqual(2_000);
    await nc.close();
    await svc.stop();
  });

  it("shares the load between two servers in the queue group", async () => {
    const def = addRpc();
    const second = await openBus();
    const a = server.serve(def, async (req) => ({ sum: req.a + req.b, servedBy: "a" }));
    const b = second.serve(def, async (req) => ({ sum: req.a + req.b, servedBy: "b" }));
    await server.rtt();
    await second.rtt(); // both subscriptions have reached the server
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => client.request(def, { a: i, b: 1 })));
    expect(replies.map((r) => r.sum)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const by = new Set(replies.map((r) => r.servedBy));
    expect(by).toEqual(new Set(["a", "b"]));
    await a.stop();
    await b.stop();
    await second.close();
  });

  it("stop() lets an in-flight request finish before it returns", async () => {
    const def = addRpc();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started = signal();
    const svc = server.serve(def, async (req) => {
      started.resolve();
      await gate;
      return { sum: req.a + req.b, servedBy: "late" };
    });
    await server.rtt(); // the subscription has reached the server
    const pending = client.request(def, { a: 4, b: 4 });
    await started.promise;
    const stopped = svc.stop();
    release();
    await stopped;
    await expect(pending).resolves.toEqual({ sum: 8, servedBy: "late" });
  });
});
