import { killGroup, type ManagedProcess } from "@asgard/infra";
import { backoffDelayMs, sleep, type BackoffPolicy } from "@asgard/retry";
import type { RunRecords } from "./leftovers.js";

/** Pause before restarting a process that died or failed to start: 500 ms doubling to 30 s. */
const RESTART_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

export interface SupervisedOptions {
  name: string;
  /**
   * Starts one incarnation and resolves once it is ready: the same command, port and data
   * every time, so clients reconnect to what they knew.
   */
  start: () => Promise<ManagedProcess>;
  /** Where each incarnation's pid is recorded for the next start to clear (leftovers.ts). */
  records: RunRecords;
  onRestart: (attempt: number, code: number | null) => void;
  onStartFailed: (attempt: number, err: unknown) => void;
  /** The pause before each restart; RESTART_BACKOFF unless given (tests). */
  restartBackoff?: BackoffPolicy;
}

export interface Supervised {
  /** The incarnation running now, if any. */
  current(): ManagedProcess | null;
  stop(): Promise<void>;
}

/**
 * Keeps one process alive: the first start must succeed (its error is thrown); after
 * that a crash, or a start that fails, is followed by another start after a backoff that
 * grows to 30 s and resets once an incarnation stayed up for a minute. What a dead
 * incarnation left in its process group (MLflow's server worker) is killed before the next
 * one starts, so it cannot hold the port. `stop()` cuts a backoff short.
 */
export async function supervise(options: SupervisedOptions): Promise<Supervised> {
  let current: ManagedProcess | null = await startRecorded(options);
  let stopping = false;
  const stopped = new AbortController();
  let failures = 0;
  const loop = async () => {
    while (!stopping && current) {
      const startedAt = Date.now();
      const code = await current.exited;
      killGroup(current.pid);
      options.records.forget(options.name);
      current = null;
      if (stopping) return;
      failures = Date.now() - startedAt > 60_000 ? 1 : failures + 1;
      options.onRestart(failures, code);
      while (!stopping && !current) {
        await sleep(backoffDelayMs(failures, options.restartBackoff ?? RESTART_BACKOFF), stopped.signal);
        if (stopping) return;
        try {
          current = await startRecorded(options);
        } catch (err) {
          failures += 1;
          options.onStartFailed(failures, err);
        }
      }
      // A stop that came while the last start was in flight.
      if (stopping) await current?.stop(10_000);
    }
  };
  const running = loop();
  return {
    current: () => current,
    async stop() {
      stopping = true;
      stopped.abort();
      await current?.stop(10_000);
      await running;
      options.records.forget(options.name);
    },
  };
}

async function startRecorded(options: SupervisedOptions): Promise<ManagedProcess> {
  const proc = await options.start();
  options.records.remember(options.name, proc.pid);
  return proc;
}
