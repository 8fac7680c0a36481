import type { Job, JobPhase, LogEndEvent, LogLine, LogLinesEvent } from "@asgard/contracts";
import { readSse } from "@asgard/contracts/sse";
import { backoffDelayMs, sleep, type BackoffPolicy } from "@asgard/retry";
import type { AsgardClient } from "./client.js";
import { ApiError, EXIT } from "./errors.js";
import { colours, formatDuration, type Io } from "./output.js";

/** How Ctrl-C reaches the follower; `process` in the CLI, a fake in tests. */
export interface Interrupts {
  on(event: "SIGINT", handler: () => void): unknown;
  off(event: "SIGINT", handler: () => void): unknown;
}

export interface FollowOptions {
  /** NDJSON on stdout (each line, then the final job) instead of text. */
  json: boolean;
  interrupts: Interrupts;
  /**
   * Asks a yes/no question on the terminal; null when there is none to ask on, or the
   * user pressed Ctrl-C again.
   */
  ask: (question: string, signal: AbortSignal) => Promise<boolean | null>;
  /** How often the job is read for its phase (the log stream carries only lines). */
  pollMs?: number;
}

const PHASE_LABELS: Record<JobPhase, string> = {
  queued: "queued",
  building_env: "building environment",
  running: "running",
  registering: "registering",
};

/** Attempts to reopen a dropped log stream before giving up. */
const MAX_RECONNECTS = 10;
/** The wait before reopening the stream: 0.5 s after a clean close, doubling per failure in a row up to 5 s. */
const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 5_000 };

/**
 * Streams a job's output until it ends, with a status line on a terminal; returns the exit
 * code: 0 completed, 1 failed, 3 cancelled, 130 when the user stopped following.
 */
export async function followJob(client: AsgardClient, io: Io, jobId: string, options: FollowOptions): Promise<number> {
  const c = colours(io.stderr, io.env);
  const out = colours(io.stdout, io.env);
  const started = Date.now();
  const controller = new AbortController();
  const status = new StatusLine(io, c);
  let phase = "queued";
  let detached = false;
  // While a question is on the screen, or once the stream ended, the status line stays away.
  let prompting = false;
  let finished = false;

  const show = () => !prompting && !finished && status.draw(`${PHASE_LABELS[phase as JobPhase] ?? phase} · ${formatDuration((Date.now() - started) / 1000)} · job ${jobId}`);
  const setPhase = (next: string) => {
    if (next === phase) return;
    phase = next;
    if (!status.live && !options.json) io.stderr.write(`[asgard] job ${jobId}: ${PHASE_LABELS[next as JobPhase] ?? next} (${formatDuration((Date.now() - started) / 1000)})\n`);
    show();
  };
  let held: LogLine[] = [];
  const printLines = (lines: LogLine[]) => {
    // Lines that arrive while the user reads the question wait below it.
    if (prompting) return void held.push(...lines);
    status.clear();
    for (const line of lines) {
      if (options.json) io.stdout.write(JSON.stringify(line) + "\n");
      else io.stdout.write((line.stream === "system" ? out.dim(line.text) : line.text) + "\n");
    }
    show();
  };
  const endPrompt = () => {
    prompting = false;
    const lines = held;
    held = [];
    printLines(lines);
  };

  const detach = () => {
    if (detached) return;
    detached = true;
    controller.abort();
  };
  const onInterrupt = () => {
    if (prompting) return detach();
    prompting = true;
    status.clear();
    void options
      .ask(`Cancel job ${jobId}? [y/N] `, controller.signal)
      .then(async (yes) => {
        endPrompt();
        if (yes !== true) return detach();
        await client.cancelJob(jobId).catch((error: unknown) => {
          // 409: it ended meanwhile; the stream reports how.
          if (!(error instanceof ApiError && error.status === 409)) throw error;
        });
        status.clear();
        io.stderr.write(`Cancellation requested; waiting for job ${jobId} to stop…\n`);
        show();
      })
      .catch((error: unknown) => {
        prompting = false;
        io.stderr.write(`Could not cancel job ${jobId}: ${error instanceof Error ? error.message : String(error)}\n`);
        detach();
      });
  };

  options.interrupts.on("SIGINT", onInterrupt);
  const ticker = status.live ? setInterval(show, 1000) : null;
  const poller = setInterval(() => {
    client.getJob(jobId).then(
      (job) => setPhase(job.phase ?? job.status),
      () => {},
    );
  }, options.pollMs ?? 2000);
  show();
  try {
    const end = await streamUntilEnd(client, jobId, controller.signal, printLines);
    // The job ended while the question was open: it is moot now (the abort below closes it).
    if (prompting) {
      controller.abort();
      io.stderr.write("\n");
      endPrompt();
    }
    finished = true;
    status.clear();
    if (end === null || detached) {
      io.stderr.write(
        `Stopped following; job ${jobId} goes on.\n  follow it again: asgard jobs logs ${jobId} --follow\n  cancel it:        asgard jobs cancel ${jobId}\n`,
      );
      return EXIT.interrupted;
    }
    const job = await client.getJob(jobId);
    if (options.json) io.stdout.write(JSON.stringify(withoutLogs(job)) + "\n");
    io.stderr.write(summary(job, c) + "\n");
    return job.status === "completed" ? EXIT.ok : job.status === "cancelled" ? EXIT.cancelled : EXIT.failure;
  } finally {
    controller.abort();
    finished = true;
    if (ticker) clearInterval(ticker);
    clearInterval(poller);
    status.clear();
    options.interrupts.off("SIGINT", onInterrupt);
  }
}

/** Reads the log stream (reopening it where it stopped if it drops); null when aborted. */
async function streamUntilEnd(
  client: AsgardClient,
  jobId: string,
  signal: AbortSignal,
  onLines: (lines: LogLine[]) => void,
): Promise<LogEndEvent | null> {
  let offset = 0;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const body = await client.streamLogs(jobId, offset, signal);
      for await (const event of readSse(body, signal)) {
        failures = 0;
        if (event.event === "end") return JSON.parse(event.data) as LogEndEvent;
        if (event.event !== "log") continue;
        const batch = JSON.parse(event.data) as LogLinesEvent;
        // A reopened stream may repeat lines already shown.
        onLines(batch.lines.slice(Math.max(0, offset - batch.offset)));
        offset = Math.max(offset, batch.next_offset);
      }
    } catch (error) {
      if (signal.aborted) return null;
      if (error instanceof ApiError && error.status < 500 && error.status !== 429) throw error;
      failures += 1;
      if (failures > MAX_RECONNECTS) throw error;
    }
    await sleep(backoffDelayMs(failures + 1, RECONNECT_BACKOFF), signal);
  }
  return null;
}

function summary(job: Job, c: ReturnType<typeof colours>): string {
  const took = job.duration_seconds === null ? "" : ` in ${formatDuration(job.duration_seconds)}`;
  if (job.status === "completed") {
    const parts = [c.green(`✔ job ${job.job_id} completed${took}`)];
    if (job.run_id) parts.push(`run ${job.run_id}`);
    if (job.model_version) parts.push(`model ${job.model_name} version ${job.model_version}`);
    const lines = [parts.join(" · ")];
    if (job.registration_error) lines.push(c.yellow(`  the model was not registered: ${job.registration_error}`));
    return lines.join("\n");
  }
  if (job.status === "cancelled") return c.yellow(`■ job ${job.job_id} cancelled${took}`);
  const code = job.exit_code === null ? "" : ` (exit code ${job.exit_code})`;
  return `${c.red(`✖ job ${job.job_id} failed${took}${code}`)}: ${job.error ?? "no reason given"}`;
}

function withoutLogs(job: Job): Omit<Job, "logs"> {
  const { logs: _logs, ...rest } = job;
  return rest;
}

/** One line on stderr redrawn in place, only on a terminal. */
class StatusLine {
  readonly live: boolean;
  #shown = false;
  constructor(
    private readonly io: Io,
    private readonly c: ReturnType<typeof colours>,
  ) {
    this.live = io.stderr.isTTY === true;
  }
  draw(text: string): void {
    if (!this.live) return;
    this.io.stderr.write(`\r\x1b[2K${this.c.cyan("●")} ${text}`);
    this.#shown = true;
  }
  clear(): void {
    if (!this.#shown) return;
    this.io.stderr.write("\r\x1b[2K");
    this.#shown = false;
  }
}
