import { EventEmitter } from "node:events";
import { Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { AsgardClient, Job } from "../src/client.js";
import { ApiError, EXIT } from "../src/errors.js";
import { followJob } from "../src/follow.js";
import type { Io } from "../src/output.js";

/** Streams that keep what was written. */
function fakeIo(tty = false): Io & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  const stdout = Object.assign(new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }), { isTTY: tty });
  const stderr = Object.assign(new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }), { isTTY: tty });
  return { stdout, stderr, stdin: Readable.from([]), env: {}, out: () => out, err: () => err };
}

const job = (status: Job["status"], extra: Partial<Job> = {}): Job =>
  ({ job_id: "j1", status, phase: null, model_name: "m", model_version: null, run_id: "r1", error: null, exit_code: null, duration_seconds: 4, registration_error: null, logs: "", ...extra }) as Job;

const sse = (events: { event: string; data: unknown; id?: number }[], keepOpen = false) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const text = events.map((e) => `event: ${e.event}\n${e.id === undefined ? "" : `id: ${e.id}\n`}data: ${JSON.stringify(e.data)}\n\n`).join("");
      controller.enqueue(new TextEncoder().encode(text));
      if (!keepOpen) controller.close();
    },
  });

const lines = (offset: number, texts: string[]) => ({
  event: "log",
  data: { job_id: "j1", attempt: 1, offset, next_offset: offset + texts.length, lines: texts.map((text) => ({ stream: "stdout", text, at: "2026-01-01T00:00:00Z" })) },
});
const end = (status: string, next: number) => ({ event: "end", data: { job_id: "j1", status, next_offset: next } });

/** A client whose log stream answers from a script of streams; only what follow uses. */
function fakeClient(streams: (() => ReadableStream<Uint8Array>)[], final: Job) {
  const calls = { offsets: [] as number[], cancelled: 0 };
  const client = {
    url: "http://fake",
    async streamLogs(_id: string, offset: number, signal: AbortSignal) {
      calls.offsets.push(offset);
      const next = streams.shift();
      if (!next) throw new Error("no more streams");
      const stream = next();
      signal.addEventListener("abort", () => void stream.cancel().catch(() => {}));
      return stream;
    },
    getJob: async () => final,
    async cancelJob() {
      calls.cancelled += 1;
      return final;
    },
  } as unknown as AsgardClient;
  return { client, calls };
}

const noInterrupts = new EventEmitter();
const never = async () => null;

describe("followJob", () => {
  it("prints every line, then a summary; exit code 0 for a completed job", async () => {
    const io = fakeIo();
    const { client } = fakeClient([() => sse([lines(0, ["epoch 1", "epoch 2"]), lines(2, ["done"]), end("completed", 3)])], job("completed", { model_version: "2" }));
    const code = await followJob(client, io, "j1", { json: false, interrupts: noInterrupts, ask: never });
    expect(code).toBe(EXIT.ok);
    expect(io.out()).toBe("epoch 1\nepoch 2\ndone\n");
    expect(io.err()).toContain("job j1 completed in 4s · run r1 · model m version 2");
  });

  it("exit code 1 with the job's error for a failed job, 3 for a cancelled one", async () => {
    const failed = fakeClient([() => sse([end("failed", 0)])], job("failed", { error: "ValueError: empty", exit_code: 1 }));
    const io = fakeIo();
    expect(await followJob(failed.client, io, "j1", { json: false, interrupts: noInterrupts, ask: never })).toBe(EXIT.failure);
    expect(io.err()).toMatch(/failed in 4s \(exit code 1\): ValueError: empty/);
    const cancelled = fakeClient([() => sse([end("cancelled", 0)])], job("cancelled"));
    expect(await followJob(cancelled.client, fakeIo(), "j1", { json: false, interrupts: noInterrupts, ask: never })).toBe(EXIT.cancelled);
  });

  it("reopens a dropped stream at the next offset and skips lines it already printed", async () => {
    const io = fakeIo();
    const { client, calls } = fakeClient(
      [() => sse([lines(0, ["a", "b"])]), () => sse([lines(1, ["b", "c"]), end("completed", 3)])],
      job("completed"),
    );
    expect(await followJob(client, io, "j1", { json: false, interrupts: noInterrupts, ask: never })).toBe(EXIT.ok);
    expect(calls.offsets).toEqual([0, 2]);
    expect(io.out()).toBe("a\nb\nc\n");
  });

  it("does not retry what will not pass: a 404 propagates", async () => {
    const client = { ...fakeClient([], job("completed")).client, streamLogs: async () => Promise.reject(new ApiError(404, { message: "no job j1" }, null)) } as AsgardClient;
    await expect(followJob(client, fakeIo(), "j1", { json: false, interrupts: noInterrupts, ask: never })).rejects.toThrow("no job j1");
  });

  it("with --output json: one JSON object per line, then the job without its logs", async () => {
    const io = fakeIo();
    const { client } = fakeClient([() => sse([lines(0, ["x"]), end("completed", 1)])], job("completed", { logs: "x\n" }));
    await followJob(client, io, "j1", { json: true, interrupts: noInterrupts, ask: never });
    const records = io.out().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[0]).toMatchObject({ stream: "stdout", text: "x" });
    expect(records[1]).toMatchObject({ job_id: "j1", status: "completed" });
    expect(records[1]).not.toHaveProperty("logs");
  });

  it("Ctrl-C answered yes cancels the job and follows it to its end", async () => {
    const interrupts = new EventEmitter();
    const io = fakeIo();
    let release: (() => void) | undefined;
    const { client, calls } = fakeClient(
      [
        () =>
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode(`event: log\ndata: ${JSON.stringify(lines(0, ["training"]).data)}\n\n`));
              release = () => {
                controller.enqueue(new TextEncoder().encode(`event: end\ndata: ${JSON.stringify(end("cancelled", 1).data)}\n\n`));
                controller.close();
              };
            },
          }),
      ],
      job("cancelled"),
    );
    const asked: string[] = [];
    const ask = async (q: string) => {
      asked.push(q);
      return true;
    };
    const following = followJob(client, io, "j1", { json: false, interrupts, ask });
    await new Promise((r) => setTimeout(r, 20));
    interrupts.emit("SIGINT");
    await new Promise((r) => setTimeout(r, 20));
    expect(calls.cancelled).toBe(1);
    release!();
    expect(await following).toBe(EXIT.cancelled);
    expect(asked).toEqual(["Cancel job j1? [y/N] "]);
    expect(io.err()).toContain("Cancellation requested");
    expect(interrupts.listenerCount("SIGINT")).toBe(0);
  });

  it("Ctrl-C answered no (or with no terminal) stops following and leaves the job alone", async () => {
    const interrupts = new EventEmitter();
    const io = fakeIo();
    const { client, calls } = fakeClient([() => sse([lines(0, ["training"])], true)], job("running"));
    const following = followJob(client, io, "j1", { json: false, interrupts, ask: async () => false });
    await new Promise((r) => setTimeout(r, 20));
    interrupts.emit("SIGINT");
    expect(await following).toBe(EXIT.interrupted);
    expect(calls.cancelled).toBe(0);
    expect(io.err()).toContain("asgard jobs logs j1 --follow");
  });

  it("draws a status line on a terminal and clears it around each printed line", async () => {
    const io = fakeIo(true);
    const { client } = fakeClient([() => sse([lines(0, ["x"]), end("completed", 1)])], job("completed"));
    await followJob(client, io, "j1", { json: false, interrupts: noInterrupts, ask: never });
    expect(io.err()).toContain("queued · 0s · job j1");
    expect(io.err()).toContain("\r\x1b[2K");
    expect(io.out()).toBe("x\n");
  });

  it("a job that ends while the question is open: the question closes, held lines print, the exit code is the job's", async () => {
    const interrupts = new EventEmitter();
    const io = fakeIo();
    let release: (() => void) | undefined;
    const { client, calls } = fakeClient(
      [
        () =>
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode(`event: log\ndata: ${JSON.stringify(lines(0, ["one"]).data)}\n\n`));
              release = () => {
                const tail = `event: log\ndata: ${JSON.stringify(lines(1, ["two"]).data)}\n\nevent: end\ndata: ${JSON.stringify(end("completed", 2).data)}\n\n`;
                controller.enqueue(new TextEncoder().encode(tail));
                controller.close();
              };
            },
          }),
      ],
      job("completed"),
    );
    let questionClosed = false;
    const ask = (_q: string, signal: AbortSignal) =>
      new Promise<boolean | null>((resolve) => signal.addEventListener("abort", () => ((questionClosed = true), resolve(null))));
    const following = followJob(client, io, "j1", { json: false, interrupts, ask });
    await new Promise((r) => setTimeout(r, 20));
    interrupts.emit("SIGINT");
    release!();
    expect(await following).toBe(EXIT.ok);
    expect(questionClosed).toBe(true);
    expect(io.out()).toBe("one\ntwo\n");
    expect(calls.cancelled).toBe(0);
  });
});
