import { get, type ClientRequest, type IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema, type CreateKeyResponse, type Job } from "@asgard/contracts";
import { validBody } from "./bodies.js";
import { bearer, createKey, eventually, keyedReplica, type KeyedReplica } from "./keyed-gateway.js";
import { SseReader } from "./sse-reader.js";
import { startTrainingStack, type TrainingStack } from "./stack.js";

const PER_KEY = 2;

interface Opened {
  status: number;
  body: string;
  retryAfter: string | null;
  reader: SseReader | null;
  /** The client's connection (one per stream, as an EventSource has). */
  request: ClientRequest;
}

describe("concurrent log streams per key (real NATS, job-scheduler and a listening gateway)", () => {
  let stack: TrainingStack;
  let gateway: KeyedReplica;
  let base: string;
  let admin: CreateKeyResponse;
  let reader: CreateKeyResponse;
  let other: CreateKeyResponse;

  async function upload(key: string): Promise<Job> {
    const res = await gateway.app.inject({ method: "POST", url: "/mlops/training/upload", headers: { ...bearer(key), "content-type": "application/json" }, payload: validBody() });
    expect(res.statusCode, res.body).toBe(202);
    return JobSchema.parse(res.json());
  }

  /** Opens a stream on a connection of its own; a refusal is read whole, a stream is left open. */
  async function open(jobId: string, key: string): Promise<Opened> {
    const request = get(`${base}/mlops/training/jobs/${jobId}/logs`, { headers: { authorization: `Bearer ${key}` }, agent: false });
    const res = await new Promise<IncomingMessage>((resolve, reject) => request.once("response", resolve).once("error", reject));
    const retryAfter = (res.headers["retry-after"] as string | undefined) ?? null;
    if (res.statusCode !== 200) return { status: res.statusCode ?? 0, body: await text(res), retryAfter, reader: null, request };
    const stream = new SseReader(Readable.toWeb(res) as ReadableStream<Uint8Array>);
    // The first block (the retry hint) shows the stream is live.
    expect(await stream.next()).not.toBeNull();
    return { status: 200, body: "", retryAfter, reader: stream, request };
  }

  /** The client goes away: its connection closes. */
  async function leave(stream: Opened): Promise<void> {
    stream.request.destroy();
    await stream.reader?.cancel();
  }

  beforeAll(async () => {
    const t = Date.now();
    stack = await startTrainingStack("gw-stream-limit");
    console.log("stack start", Date.now() - t);
    gateway = await keyedReplica(stack.nats.url, "stream-limit", { limits: { logStreamsPerKey: PER_KEY } });
    base = await gateway.app.listen({ port: 0, host: "127.0.0.1" });
    admin = await createKey(gateway.app, null, { name: "admin", scopes: ["admin"] });
    reader = await createKey(gateway.app, admin.key, { name: "follower", scopes: ["jobs:submit", "jobs:read"] });
    other = await createKey(gateway.app, admin.key, { name: "other", scopes: ["jobs:read"] });
  });

  afterAll(async () => {
    let t = Date.now();
    console.log((await gateway.app.inject({ url: "/metrics", headers: bearer(admin.key) })).body.split("\n").filter((l) => l.includes("streams_open")).join("\n"));
    await gateway?.app.close();
    console.log("app close", Date.now() - t); t = Date.now();
    await gateway?.store.stop();
    console.log("store stop", Date.now() - t); t = Date.now();
    await gateway?.bus.close();
    console.log("bus close", Date.now() - t); t = Date.now();
    await stack?.close();
    console.log("stack close", Date.now() - t);
  });

  it("refuses a key's stream over the limit with a 429 naming it, lets other keys in, and frees a slot when a client disconnects or a job ends", async () => {
    const job = await upload(reader.key);
    const held = [await open(job.job_id, reader.key), await open(job.job_id, reader.key)];
    expect(held.map((s) => s.status)).toEqual([200, 200]);

    const refused = await open(job.job_id, reader.key);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe("5");
    expect(JSON.parse(refused.body)).toMatchObject({
      error: "LIMIT_EXCEEDED",
      message: expect.stringContaining(`concurrent log streams per key): the API key ${reader.id} may follow at most ${PER_KEY} job logs at once`),
    });

    // Another key has slots of its own.
    const others = await open(job.job_id, other.key);
    expect(others.status).toBe(200);
    await leave(others);

    // A client that goes away frees its slot.
    await leave(held[0]!);
    let reopened: Opened | null = null;
    await eventually(async () => {
      const attempt = await open(job.job_id, reader.key);
      if (attempt.status === 200) reopened = attempt;
      return attempt.status === 200;
    });

    // A job that ends ends its streams, and their slots are free again.
    const cancelled = await gateway.app.inject({ method: "DELETE", url: `/mlops/training/jobs/${job.job_id}`, headers: bearer(reader.key) });
    expect(cancelled.statusCode, cancelled.body).toBeLessThan(300);
    for (const stream of [held[1]!, reopened!]) {
      const seen = await stream.reader!.until((m) => m.event === "end");
      expect(seen.at(-1)?.event).toBe("end");
      expect(await stream.reader!.next()).toBeNull();
    }
    const gauge = async (w: string) => console.log(w, (await gateway.app.inject({ url: "/metrics", headers: bearer(admin.key) })).body.split("\n").filter((l) => l.startsWith("asgard_gateway_log_streams_open")).join(""));
    await gauge("after end");
    const next = await upload(reader.key);
    await eventually(async () => {
      const both = [await open(next.job_id, reader.key), await open(next.job_id, reader.key)];
      const ok = both.every((s) => s.status === 200);
      for (const s of both) await leave(s);
      return ok;
    });
    await gauge("after both");
    await new Promise((r) => setTimeout(r, 500));
    await gauge("after both + 500ms");
  });

  it("answers a stream refused before it starts (unknown job) without holding a slot", async () => {
    for (let i = 0; i < PER_KEY * 3; i++) {
      const res = await open("no-such-job", other.key);
      expect(res.status).toBe(404);
    }
    const job = await upload(reader.key);
    const a = await open(job.job_id, other.key);
    const b = await open(job.job_id, other.key);
    expect([a.status, b.status]).toEqual([200, 200]);
    await leave(a);
    await leave(b);
  });
});
