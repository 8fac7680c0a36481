import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import type { Scalar } from "@asgard/contracts";
import type { Logger } from "@asgard/telemetry";
import { describe, WorkerExitedError, WorkerReplyError, type WorkerFailureKind } from "./errors.js";
import { encodeFrame, FrameDecoder } from "./framing.js";
import { LoadReplySchema, type LoadReply } from "./model-info.js";

/** How to start one worker. */
export interface WorkerSpawnOptions {
  /** The interpreter of the model's environment. */
  python: string;
  /** The worker script (`python/worker.py`). */
  script: string;
  cwd: string;
  /** The complete environment of the process (an allow-list; see `workerEnv`). */
  env: Record<string, string>;
  /** Names the model in logs and errors, e.g. `"churn" version 3`. */
  label: string;
  logger: Logger;
}

/** One batch as the worker takes it: columns in the model's order, values column-major. */
export interface PredictCall {
  /** Column names, or null when the model takes columns by position. */
  columns: string[] | null;
  values: Scalar[][];
  proba: boolean;
  params: Record<string, unknown> | null;
}

export interface PredictReply {
  predictions: unknown[];
  probabilities: number[][] | null;
  /** Time spent inside predict (and predict_proba), measured by the worker. */
  predictMs: number;
  /** The worker's whole handling of the call: building the frame, predict, converting the output. */
  handledMs: number;
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the service stopped it (eviction, shutdown). */
  expected: boolean;
}

interface Pending {
  resolve(reply: Record<string, unknown>): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Lines of the worker's output kept for error messages (a crash's traceback). */
const TAIL_LINES = 30;
const MAX_LINE_CHARS = 500;

/**
 * A persistent Python process holding one loaded model. Calls are framed JSON on fd 3/4
 * (see `python/worker.py`), answered in order. The process leads its own process group, so
 * `kill()` also ends anything the model's code started.
 */
export class WorkerProcess {
  readonly label: string;
  readonly exited: Promise<WorkerExit>;
  readonly #child: ChildProcess;
  readonly #requests: Writable;
  readonly #pending = new Map<number, Pending>();
  readonly #decoder = new FrameDecoder();
  readonly #tail: string[] = [];
  readonly #logger: Logger;
  #nextId = 1;
  #exit: WorkerExit | null = null;
  #expected = false;
  #killReason: string | null = null;

  constructor(opts: WorkerSpawnOptions) {
    this.label = opts.label;
    this.#logger = opts.logger;
    // -I: no PYTHON* variables, user site or script directory on sys.path; -u: output as it happens.
    this.#child = spawn(opts.python, ["-I", "-u", opts.script], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
      detached: true,
    });
    this.#requests = this.#child.stdio[3] as Writable;
    const replies = this.#child.stdio[4] as Readable;
    // A write to a worker that just died fails with EPIPE; its exit is what reports it.
    this.#requests.on("error", () => undefined);
    replies.on("error", () => undefined);
    replies.on("data", (chunk: Buffer) => this.#onData(chunk));
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      stream?.setEncoding("utf8");
      let partial = "";
      stream?.on("data", (text: string) => {
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) this.#onLine(line);
      });
    }
    this.exited = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null, reason?: string) => {
        if (this.#exit) return;
        this.#exit = { code, signal, expected: this.#expected };
        // Replies already in the pipe are read before the calls still open are failed.
        setImmediate(() => {
          const killed = this.#killReason === null ? `was killed by ${signal}` : `was killed (${this.#killReason})`;
          const how = reason ?? (signal ? killed : `exited with code ${code}`);
          this.#failAll(new WorkerExitedError(`the worker of ${this.label} ${how}${this.#tailText()}`));
          resolve(this.#exit as WorkerExit);
        });
      };
      this.#child.once("exit", (code, signal) => finish(code, signal));
      this.#child.once("error", (err) => finish(null, null, `could not be started (${describe(err)})`));
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#exit === null;
  }

  /** Loads the model from its local directory; WorkerReplyError("load") with the reason when it cannot. */
  async load(path: string, timeoutMs: number): Promise<LoadReply> {
    const reply = await this.#call({ op: "load", path }, timeoutMs);
    const parsed = LoadReplySchema.safeParse(reply);
    if (!parsed.success) throw new WorkerReplyError("load", `the worker answered the load with an unexpected reply: ${parsed.error.message}`);
    return parsed.data;
  }

  async predict(call: PredictCall, timeoutMs: number): Promise<PredictReply> {
    const reply = await this.#call({ op: "predict", ...call }, timeoutMs);
    const predictions = reply.predictions;
    const probabilities = reply.probabilities;
    if (!Array.isArray(predictions) || (probabilities !== null && !Array.isArray(probabilities)) || typeof reply.predict_ms !== "number") {
      throw new WorkerReplyError("model", "the worker answered with an unexpected reply");
    }
    const handledMs = typeof reply.handled_ms === "number" ? reply.handled_ms : reply.predict_ms;
    return { predictions, probabilities: probabilities as number[][] | null, predictMs: reply.predict_ms, handledMs };
  }

  /** Resident memory of the worker, from /proc (null where there is none). */
  async rssBytes(): Promise<number | null> {
    if (this.#child.pid === undefined || !this.alive) return null;
    try {
      const status = await readFile(`/proc/${this.#child.pid}/status`, "utf8");
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
      return kb === undefined ? null : Number(kb) * 1024;
    } catch {
      return null;
    }
  }

  /** Kills the whole process group at once. */
  kill(reason: string, expected = false): void {
    if (expected) this.#expected = true;
    const pid = this.#child.pid;
    if (pid === undefined) return;
    if (this.alive) {
      this.#killReason ??= reason;
      this.#logger.debug({ model: this.label, pid, reason }, "killing model worker");
    }
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }

  /** Ends the worker: EOF on its request pipe, then the group is killed after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#expected = true;
    this.#requests.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    // Also after a clean exit: anything the model started in the group goes with it.
    this.kill("stopping", true);
    await this.exited;
  }

  #call(message: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    if (this.#exit) return Promise.reject(new WorkerExitedError(`the worker of ${this.label} is not running`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A worker that stops answering is as good as dead: replace it rather than wait forever.
        this.kill(`no answer within ${timeoutMs} ms`);
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#requests.write(encodeFrame({ ...message, id }));
    });
  }

  #onData(chunk: Buffer): void {
    let frames: unknown[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#logger.error({ model: this.label, err }, "model worker sent a corrupt frame; killing it");
      this.kill("corrupt frame");
      return;
    }
    for (const frame of frames) {
      const reply = frame as Record<string, unknown>;
      const id = typeof reply.id === "number" ? reply.id : -1;
      const pending = this.#pending.get(id);
      if (!pending) continue;
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      if (reply.ok === true) pending.resolve(reply);
      else pending.reject(new WorkerReplyError(kindOf(reply.kind), typeof reply.error === "string" ? reply.error : "the worker reported an error"));
    }
  }

  #onLine(line: string): void {
    const text = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
    if (text.trim() === "") return;
    this.#tail.push(text);
    if (this.#tail.length > TAIL_LINES) this.#tail.shift();
    this.#logger.debug({ model: this.label, line: text }, "model worker output");
  }

  #tailText(): string {
    const last = this.#tail.slice(-8).join("\n");
    return last === "" ? "" : `; its last output:\n${last}`;
  }

  #failAll(err: Error): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(err);
      this.#pending.delete(id);
    }
  }
}

function kindOf(value: unknown): WorkerFailureKind {
  return value === "load" || value === "input" || value === "model" ? value : "model";
}

/** Thread-count settings an operator may tune; passed through because they are not secrets. */
const PASSED_THROUGH = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "SSL_CERT_FILE", "SSL_CERT_DIR"];

/**
 * The complete environment of a worker: an allow-list, never the service's own variables
 * (its NATS and MLflow credentials stay out of model code). The worker loads from local
 * files, so it needs no tracking URI; MLflow's usage telemetry is switched off, and model
 * deserialization is allowed (the worker exists to load the model).
 */
export function workerEnv(opts: { binDir: string; venv: string; home: string; source?: Readonly<Record<string, string | undefined>> }): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${opts.binDir}:/usr/local/bin:/usr/bin:/bin`,
    VIRTUAL_ENV: opts.venv,
    HOME: opts.home,
    LANG: "C.UTF-8",
    MLFLOW_DISABLE_TELEMETRY: "true",
    DO_NOT_TRACK: "true",
    // MLflow gates loading every scikit-learn/LightGBM model (pickle, cloudpickle and skops,
    // whose trusted types come from the model's own files) behind this switch. Loading a model
    // runs its code, so the model worker is the trust boundary: set here and nowhere else (not
    // in jobs, not in the service). Sandboxing the workers themselves is still open (issue 12).
    MLFLOW_ALLOW_PICKLE_DESERIALIZATION: "true",
  };
  const source = opts.source ?? process.env;
  for (const name of PASSED_THROUGH) {
    const value = source[name];
    if (value !== undefined && value !== "") env[name] = value;
  }
  return env;
}
