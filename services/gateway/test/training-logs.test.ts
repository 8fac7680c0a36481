import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_TENANT,
  ErrorBodySchema,
  JobSchema,
  RPC,
  SIGNALS,
  LogEndEventSchema,
  LogLinesEventSchema,
  jobLogStoredSubject,
  type Job,
  type LogLinesEvent,
} from "@asgard/contracts";
import { validBody } from "./bodies.js";
import { RunnerRole } from "./runner-role.js";
import { SseReader, type SseMessage } from "./sse-reader.js";
import { startGateway, startTrainingStack, type TrainingStack } from "./stack.js";

/** Small pages so a long log takes several; a short keep-alive so tests see one. */
const PAGE_SIZE = 7;
const KEEP_ALIVE_MS = 300;

interface OpenStream {
  response: Response;
  reader: SseReader;
  abort: AbortController;
}

describe("GET /mlops/training/jobs/{job_id}/logs (Server-Sent Events, real NATS and job-scheduler)", () => {
  let stack: TrainingStack;
  let app: FastifyInstance;
  let base: string;
  let runner: RunnerRole;

  async function upload(): Promise<Job> {
    const res = await app.inject({ method: "POST", url: "/mlops/training/upload", payload: validBody() });
    expect(res.statusCode, res.body).toBe(202);
    return JobSchema.parse(res.json());
  }

  async function open(jobId: string, query = "", headers: Record<string, string> = {}, at = base): Promise<OpenStream> {
    const abort = new AbortController();
    const response = await fetch(`${at}/mlops/training/jobs/${encodeURIComponent(jobId)}/logs${query}`, { headers, signal: abort.signal });
    expect(response.status).toBe(200);
    if (!response.body) throw new Error("no body");
    return { response, reader: new SseReader(response.body), abort };
  }

  /** Every `log` event until `end` (or the stream closing), and the `end` event. */
  async function drain(stream: OpenStream): Promise<{ logs: Array<LogLinesEvent & { id: string | undefined }>; end: SseMessage | undefined }> {
    const messages = await stream.reader.until((m) => m.event === "end");
    const logs = messages.filter((m) => m.event === "log").map((m) => ({ ...LogLinesEventSchema.parse(JSON.parse(m.data ?? "")), id: m.id }));
    return { logs, end: messages.find((m) => m.event === "end") };
  }

  const texts = (logs: LogLinesEvent[]) => logs.flatMap((e) => e.lines.map((l) => l.text));

  /** How many lines the scheduler has stored for the job. */
  async function storedLines(jobId: string): Promise<number> {
    const page = await stack.runnerBus.request(RPC.getJobLogs, { job_id: jobId, scope: { tenant: DEFAULT_TENANT, admin: true }, offset: 0, limit: 1000 });
    return page.next_offset;
  }

  async function natsSubscriptions(connectionName: string): Promise<string[]> {
    const res = await fetch(`${stack.nats.monitorUrl}/connz?subs=1`);
    const connz = (await res.json()) as { connections: Array<{ name?: string; subscriptions_list?: string[] }> };
    return connz.connections.filter((c) => c.name === connectionName).flatMap((c) => c.subscriptions_list ?? []);
  }

  async function openStreamsGauge(gatewayApp = app): Promise<number> {
    const text = (await gatewayApp.inject("/metrics")).body;
    const match = /^asgard_gateway_log_streams_open(?:\{[^}]*\})? (\d+)/m.exec(text);
    return Number(match?.[1] ?? Number.NaN);
  }

  beforeAll(async () => {
    stack = await startTrainingStack("gw-logs", { logStream: { pageSize: PAGE_SIZE, keepAliveMs: KEEP_ALIVE_MS } });
    app = stack.gateway.app;
    base = await app.listen({ port: 0, host: "127.0.0.1" });
    runner = new RunnerRole(stack.runnerBus);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("sends lines written before and after the client connects, in order, then end, and closes", async () => {
    const job = await upload();
    const attempt = await runner.claim(job.job_id);
    const before = Array.from({ length: 10 }, (_, i) => `before ${i}`);
    await runner.log(job.job_id, attempt, before.slice(0, 4));
    await runner.log(job.job_id, attempt, before.slice(4), "stderr");
    await expect.poll(() => storedLines(job.job_id), { timeout: 15_000 }).toBe(10);

    const stream = await open(job.job_id);
    expect(stream.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(stream.response.headers.get("cache-control")).toBe("no-cache");
    expect(stream.response.headers.get("x-accel-buffering")).toBe("no");
    const early = await stream.reader.until((m) => m.event === "log" && m.id === "10");
    expect(early[0]?.retry).toBeGreaterThan(0);

    const after = Array.from({ length: 20 }, (_, i) => `after ${i} \u00e9\u2603`);
    for (let i = 0; i < after.length; i += 5) await runner.log(job.job_id, attempt, after.slice(i, i + 5));
    await runner.complete(job.job_id, attempt);
    const rest = await drain(stream);

    const earlyLogs = early.filter((m) => m.event === "log").map((m) => LogLinesEventSchema.parse(JSON.parse(m.data ?? "")));
    expect(texts([...earlyLogs, ...rest.logs])).toEqual([...before, ...after]);
    for (const e of rest.logs) {
      expect(e.id).toBe(String(e.next_offset));
      expect(e.next_offset - e.offset).toBe(e.lines.length);
      expect(e.lines.length).toBeLessThanOrEqual(PAGE_SIZE);
      expect(e.attempt).toBe(attempt);
    }
    expect(rest.end).toBeDefined();
    expect(LogEndEventSchema.parse(JSON.parse(rest.end?.data ?? ""))).toEqual({ job_id: job.job_id, status: "completed", next_offset: 30 });
    expect(await stream.reader.next()).toBeNull();
  });

  it("resumes from ?offset and from Last-Event-ID (which wins), and ends at once for a finished job", async () => {
    const job = await upload();
    const attempt = await runner.claim(job.job_id);
    const lines = Array.from({ length: 12 }, (_, i) => `line ${i}`);
    await runner.log(job.job_id, attempt, lines.slice(0, 6));
    await runner.log(job.job_id, attempt, lines.slice(6));
    await runner.complete(job.job_id, attempt, { outcome: "failed", error_type: "script_error", error: "exit 1", exit_code: 1 });
    await expect.poll(async () => (await app.inject(`/mlops/training/jobs/${job.job_id}`)).json().status, { timeout: 15_000 }).toBe("failed");

    const all = await drain(await open(job.job_id));
    expect(texts(all.logs)).toEqual(lines);
    expect(JSON.parse(all.end?.data ?? "")).toMatchObject({ status: "failed", next_offset: 12 });

    const fromOffset = await drain(await open(job.job_id, "?offset=5"));
    expect(texts(fromOffset.logs)).toEqual(lines.slice(5));
    expect(fromOffset.logs[0]?.offset).toBe(5);

    const fromHeader = await drain(await open(job.job_id, "?offset=1", { "last-event-id": "9" }));
    expect(texts(fromHeader.logs)).toEqual(lines.slice(9));

    const atEnd = await drain(await open(job.job_id, "?offset=12"));
    expect(atEnd.logs).toHaveLength(0);
    expect(JSON.parse(atEnd.end?.data ?? "")).toMatchObject({ next_offset: 12 });

    // An EventSource reconnecting after `end` is told to stop (204) rather than looping.
    const reconnect = await fetch(`${base}/mlops/training/jobs/${job.job_id}/logs`, { headers: { "last-event-id": "12" } });
    expect(reconnect.status).toBe(204);
  });

  it("answers 404 JSON before any stream for unknown and malformed ids, and 422 for a bad offset", async () => {
    for (const id of ["0123456789abcdef", "not a job", "a.b.>", "x".repeat(300)]) {
      const res = await fetch(`${base}/mlops/training/jobs/${encodeURIComponent(id)}/logs`);
      expect(res.status, id).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect(ErrorBodySchema.parse(await res.json()).error).toBe("NOT_FOUND");
    }
    const job = await upload();
    for (const [query, headers] of [["?offset=-1", {}], ["?offset=abc", {}], ["?since=3", {}], ["", { "last-event-id": "x" }]] as const) {
      const res = await fetch(`${base}/mlops/training/jobs/${job.job_id}/logs${query}`, { headers });
      expect(res.status, `${query} ${JSON.stringify(headers)}`).toBe(422);
      expect(ErrorBodySchema.parse(await res.json()).issues?.length).toBeGreaterThan(0);
    }
  });

  it("keeps an idle stream alive with comments and follows a long log page by page", async () => {
    const job = await upload();
    const stream = await open(job.job_id);
    const idle = await stream.reader.until((m) => m.comments.includes("keep-alive"));
    expect(idle.some((m) => m.event === "log")).toBe(false);

    const attempt = await runner.claim(job.job_id);
    const lines = Array.from({ length: 100 }, (_, i) => `step ${i}`);
    for (let i = 0; i < lines.length; i += 25) await runner.log(job.job_id, attempt, lines.slice(i, i + 25));
    await runner.complete(job.job_id, attempt);
    const rest = await drain(stream);
    expect(texts(rest.logs)).toEqual(lines);
    expect(JSON.parse(rest.end?.data ?? "")).toMatchObject({ status: "completed", next_offset: 100 });
  });

  it("sends lines as the scheduler stores them, reads the log for what a signal skips, and never sends a line twice", async () => {
    // Polling out of the way: on this gateway only the scheduler's signals move a stream on.
    const other = await startGateway(stack.nats.url, "gw-logs-signals", { logStream: { pageSize: PAGE_SIZE, pollIntervalMs: 600_000 } });
    try {
      const at = await other.app.listen({ port: 0, host: "127.0.0.1" });
      const job = await upload();
      const attempt = await runner.claim(job.job_id);
      const stream = await open(job.job_id, "", {}, at);
      await expect.poll(() => natsSubscriptions(other.bus.name), { timeout: 10_000 }).toContain(jobLogStoredSubject(job.job_id));

      await runner.log(job.job_id, attempt, ["one", "two"]);
      const first = await stream.reader.until((m) => m.event === "log" && (m.data ?? "").includes('"two"'));
      const sent = Number(first.at(-1)?.id);
      const forge = (offset: number, text: string) =>
        stack.runnerBus.publishSignal(
          SIGNALS.jobLogStored,
          { job_id: job.job_id, attempt, offset, next_offset: offset + 1, lines: [{ stream: "stdout", text, at: new Date().toISOString() }], ended: false },
          { subject: jobLogStoredSubject(job.job_id) },
        );
      // Lines the stream has already sent, and lines past a gap: neither is sent as it comes.
      forge(sent - 1, "forged repeat");
      forge(sent + 3, "forged after a gap");
      await runner.log(job.job_id, attempt, ["three"]);
      await runner.complete(job.job_id, attempt);
      const rest = await drain(stream);

      const firstLogs = first.filter((m) => m.event === "log").map((m) => LogLinesEventSchema.parse(JSON.parse(m.data ?? "")));
      const all = [...firstLogs, ...rest.logs];
      expect(texts(all)).toEqual(["one", "two", "three"]);
      for (let i = 1; i < all.length; i++) expect(all[i]?.offset).toBe(all[i - 1]?.next_offset);
      expect(JSON.parse(rest.end?.data ?? "")).toMatchObject({ status: "completed", next_offset: 3 });
    } finally {
      await other.close();
    }
  });

  it("frees the subscription and timers when the client disconnects", async () => {
    const job = await upload();
    const attempt = await runner.claim(job.job_id);
    await runner.log(job.job_id, attempt, ["one"]);
    const subject = jobLogStoredSubject(job.job_id);
    const gatewayConnection = stack.gateway.bus.name;
    expect(await natsSubscriptions(gatewayConnection)).not.toContain(subject);

    const stream = await open(job.job_id);
    await stream.reader.until((m) => m.event === "log");
    await expect.poll(() => natsSubscriptions(gatewayConnection), { timeout: 10_000 }).toContain(subject);
    expect(await openStreamsGauge()).toBe(1);

    stream.abort.abort();
    await stream.reader.cancel();
    await expect.poll(() => natsSubscriptions(gatewayConnection), { timeout: 15_000 }).not.toContain(subject);
    // The gauge drops in the same cleanup that clears the keep-alive timer.
    await expect.poll(() => openStreamsGauge(), { timeout: 15_000 }).toBe(0);
  });

  it("ends open streams when the gateway shuts down, so closing does not hang", async () => {
    const other = await startGateway(stack.nats.url, "gw-logs-closing", { logStream: { keepAliveMs: KEEP_ALIVE_MS } });
    const at = await other.app.listen({ port: 0, host: "127.0.0.1" });
    const job = await upload();
    const stream = await open(job.job_id, "", {}, at);
    await stream.reader.until((m) => m.comments.includes("keep-alive"));
    expect(await openStreamsGauge(other.app)).toBe(1);
    await other.close();
    const remaining = await stream.reader.until(() => false);
    expect(remaining.some((m) => m.event === "end")).toBe(false);
    expect(await stream.reader.next()).toBeNull();
  });

  it("answers 503 with Retry-After before the stream when no job-scheduler serves", async () => {
    const job = await upload();
    await stack.stopScheduler();
    try {
      const res = await fetch(`${base}/mlops/training/jobs/${job.job_id}/logs`);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(ErrorBodySchema.parse(await res.json()).error).toBe("UNAVAILABLE");
    } finally {
      await stack.startScheduler();
    }
  });
});
