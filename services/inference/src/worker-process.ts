import { readFile } from "node:fs/promises";
import type { Scalar, ServedBy } from "@asgard/contracts";
import { spawnSandboxed, type ResourceLimits, type SandboxedProcess, type SandboxMode } from "@asgard/sandbox";
import type { Logger } from "@asgard/telemetry";
import { describe, WorkerExitedError, WorkerReplyError, type WorkerFailureKind } from "./errors.js";
import { encodeFrame, FrameDecoder } from "./framing.js";
import { CompileReplySchema, LoadReplySchema, type CompileReply, type LoadReply, type WorkerModelInfo } from "./model-info.js";

/** How model workers are confined: the same sandbox as training jobs, without any network. */
export interface WorkerSandbox {
  /** `bwrap` (default), or `process-group`: no sandbox, for development where bubblewrap cannot run. */
  mode: SandboxMode;
  /** Identity of the worker when the service runs as root (otherwise the service's own, mapped). */
  uid: number;
  gid: number;
  limits: Partial<ResourceLimits>;
}

/** How to start one worker. */
export interface WorkerSpawnOptions {
  /** The interpreter of the model's environment. */
  python: string;
  /** The worker script (`python/worker.py`). */
  script: string;
  /** The complete environment of the process (an allow-list; see `workerEnv`). */
  env: Record<string, string>;
  /** Host paths the worker reads: its environment, interpreter, script and model; nothing else of the host is visible. */
  readOnlyPaths: string[];
  sandbox: WorkerSandbox;
  /** Names the model in logs and errors, e.g. `"churn" version 3`. */
  label: string;
  logger: Logger;
  /** Which path this worker serves (default python): it loads a model with `load`, an ONNX graph with `loadOnnx`. */
  servedBy?: ServedBy;
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
  /** The path of the worker that answered. */
  servedBy: ServedBy;
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
 * A persistent Python process holding one loaded model, in a sandbox of its own (see
 * {@link WorkerSandbox}). Calls are framed JSON on its stdin/stdout (see `python/worker.py`),
 * answered in order; stderr carries its logs. `kill()` also ends anything the model's code started.
 */
export class WorkerProcess {
  readonly label: string;
  readonly servedBy: ServedBy;
  readonly exited: Promise<WorkerExit>;
  readonly #process: SandboxedProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #decoder = new FrameDecoder();
  readonly #tail: string[] = [];
  readonly #logger: Logger;
  #nextId = 1;
  #exit: WorkerExit | null = null;
  #expected = false;
  #killReason: string | null = null;

  /** Throws a SandboxError when the sandbox cannot be started. */
  constructor(opts: WorkerSpawnOptions) {
    this.label = opts.label;
    this.servedBy = opts.servedBy ?? "python";
    this.#logger = opts.logger;
    this.#process = spawnSandboxed({
      command: opts.python,
      // -I: no PYTHON* variables, user site or script directory on sys.path; -u: output as it happens.
      args: ["-I", "-u", opts.script],
      env: opts.env,
      readOnlyPaths: opts.readOnlyPaths,
      uid: opts.sandbox.uid,
      gid: opts.sandbox.gid,
      limits: opts.sandbox.limits,
      mode: opts.sandbox.mode,
      onStderrLine: (line) => this.#onLine(line),
    });
    const replies = this.#process.stdout;
    replies.on("error", () => undefined);
    replies.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.exited = this.#process.done
      .then(
        (exit) => {
          const killed = this.#killReason === null ? `was killed by ${exit.signal}` : `was killed (${this.#killReason})`;
          const limit = exit.limitExceeded === null ? null : `hit its ${exit.limitExceeded.replace("_", " ")} limit`;
          const how = limit ?? (exit.signal ? killed : `exited with code ${exit.exitCode}`);
          return { code: exit.exitCode, signal: exit.signal as NodeJS.Signals | null, how };
        },
        (err: unknown) => ({ code: null, signal: null, how: `could not be started (${describe(err)})` }),
      )
      .then(({ code, signal, how }) => {
        this.#exit = { code, signal, expected: this.#expected };
        // Replies already in the pipe are read before the calls still open are failed.
        return new Promise<WorkerExit>((resolve) =>
          setImmediate(() => {
            this.#failAll(new WorkerExitedError(`the worker of ${this.label} ${how}${this.#tailText()}`));
            resolve(this.#exit as WorkerExit);
          }),
        );
      });
  }

  /** The pid of the worker's sandbox (bwrap) as the service sees it: killing it ends the worker. */
  get pid(): number | undefined {
    return this.#process.pid;
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

  /**
   * Loads an ONNX graph into ONNX Runtime (`tools`: the converter environment); `info` is the
   * Python load's, which the graph serves unchanged (same inputs, classes and probabilities).
   */
  async loadOnnx(path: string, tools: string, info: WorkerModelInfo, timeoutMs: number): Promise<LoadReply> {
    const reply = await this.#call({ op: "load_onnx", path, tools, info }, timeoutMs);
    const parsed = LoadReplySchema.safeParse(reply);
    if (!parsed.success) throw new WorkerReplyError("load", `the worker answered the ONNX load with an unexpected reply: ${parsed.error.message}`);
    return parsed.data;
  }

  /** Converts the model in `path` to ONNX and checks parity; WorkerReplyError("compile") says why it cannot. */
  async compile(path: string, tools: string, timeoutMs: number): Promise<CompileReply> {
    const reply = await this.#call({ op: "compile", path, tools }, timeoutMs);
    const parsed = CompileReplySchema.safeParse(reply);
    if (!parsed.success) throw new WorkerReplyError("compile", `the worker answered the conversion with an unexpected reply: ${parsed.error.message}`);
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
    return { predictions, probabilities: probabilities as number[][] | null, predictMs: reply.predict_ms, handledMs, servedBy: this.servedBy };
  }

  /** Resident memory of the worker and whatever it started, from /proc (null where there is none). */
  async rssBytes(): Promise<number | null> {
    if (!this.alive) return null;
    let total: number | null = null;
    for (const pid of await this.#process.processIds()) {
      try {
        const status = await readFile(`/proc/${pid}/status`, "utf8");
        const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
        if (kb !== undefined) total = (total ?? 0) + Number(kb) * 1024;
      } catch {
        // Ended meanwhile.
      }
    }
    return total;
  }

  /** Kills the worker and everything it started at once. */
  kill(reason: string, expected = false): void {
    if (expected) this.#expected = true;
    if (this.alive) {
      this.#killReason ??= reason;
      this.#logger.debug({ model: this.label, pid: this.pid, reason }, "killing model worker");
    }
    this.#process.kill("now");
  }

  /** Ends the worker: EOF on its requests, then it is killed after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#expected = true;
    this.#process.stdin.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
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
      this.#process.stdin.write(encodeFrame({ ...message, id }));
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
  return value === "load" || value === "input" || value === "model" || value === "compile" ? value : "model";
}

/** Thread-count settings an operator may tune; passed through because they are not secrets. */
const PASSED_THROUGH = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "SSL_CERT_FILE", "SSL_CERT_DIR"];

/**
 * The complete environment of a worker: an allow-list, never the service's own variables
 * (its NATS and MLflow credentials stay out of model code). The worker loads from local
 * files, so it needs no tracking URI; MLflow's usage telemetry is switched off, and model
 * deserialization is allowed (the worker exists to load the model). HOME is the sandbox's
 * private /tmp, which the sandbox sets.
 */
export function workerEnv(opts: { binDir: string; venv: string; source?: Readonly<Record<string, string | undefined>> }): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${opts.binDir}:/usr/local/bin:/usr/bin:/bin`,
    VIRTUAL_ENV: opts.venv,
    LANG: "C.UTF-8",
    MLFLOW_DISABLE_TELEMETRY: "true",
    DO_NOT_TRACK: "true",
    // MLflow gates loading every scikit-learn/LightGBM model (pickle, cloudpickle and skops,
    // whose trusted types come from the model's own files) behind this switch. Loading a model
    // runs its code, so the model worker, in its sandbox, is the trust boundary: set here and
    // nowhere else (not in jobs, not in the service).
    MLFLOW_ALLOW_PICKLE_DESERIALIZATION: "true",
  };
  const source = opts.source ?? process.env;
  for (const name of PASSED_THROUGH) {
    const value = source[name];
    if (value !== undefined && value !== "") env[name] = value;
  }
  return env;
}
