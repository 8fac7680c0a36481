import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { round } from "./spread.js";

/**
 * One job system under test (ours or a peer), seen through its own HTTP API by the same
 * client, so both sides of a comparison are timed the same way.
 */
export interface JobSide {
  submit(): Promise<string>;
  /** `running` once the user's script has started (its environment ready). */
  phase(id: string): Promise<JobPhase>;
  describe(id: string): Promise<string>;
}

type JobPhase = "queued" | "running" | "done" | "failed";

/** The same job for both sides: one script file and the packages it needs. */
export interface BenchJob {
  script: string;
  requirements: string[];
}

export const JOB_SCRIPT_NAME = "job.py";

export interface JobTiming {
  id: string;
  /** Submit call → first poll that saw the script running (or the job done). */
  running_ms: number;
  /** Submit call → first poll that saw the job done. */
  completed_ms: number;
  /** performance.now() of that poll. */
  end: number;
}

/**
 * Submits one job and polls it `pollMs` after each answer until it is done. A job that
 * finished between two polls was running before it: its first sighting counts for both.
 */
export async function timeJob(side: JobSide, pollMs: number): Promise<JobTiming> {
  const sent = performance.now();
  const id = await side.submit();
  let running: number | null = null;
  for (;;) {
    const phase = await side.phase(id);
    const now = performance.now();
    if (running === null && (phase === "running" || phase === "done")) running = now - sent;
    if (phase === "done") return { id, running_ms: running ?? now - sent, completed_ms: now - sent, end: now };
    if (phase === "failed") throw new Error(`job ${id} failed: ${await side.describe(id)}`);
    await sleep(pollMs);
  }
}

/** Submits `count` jobs at once and waits for all; completed jobs per minute for the batch. */
export async function timeBatch(side: JobSide, count: number, pollMs: number): Promise<{ jobs_per_minute: number; jobs: JobTiming[] }> {
  const start = performance.now();
  const jobs = await Promise.all(Array.from({ length: count }, () => timeJob(side, pollMs)));
  const seconds = (Math.max(...jobs.map((j) => j.end)) - start) / 1_000;
  return { jobs_per_minute: round((count / seconds) * 60, 2), jobs };
}

/** Runs `jobs` jobs one after another, untimed: builds and caches environments before measuring. */
export async function warmUp(side: JobSide, jobs: number): Promise<void> {
  for (let i = 0; i < jobs; i++) await timeJob(side, 250);
}

/** The sides in the order run `r` measures them: alternating, so neither always inherits the other's aftermath. */
export function alternate<T>(r: number, pair: readonly [T, T]): readonly [T, T] {
  return r % 2 === 0 ? pair : [pair[1], pair[0]];
}
