import type { Logger } from "./logger.js";

/** A background loop: one pass at a time, every `intervalMs`, or at once when woken. */
export interface Periodic {
  /** Runs a pass as soon as the current one (if any) ends. */
  wake(): void;
  /** No new passes; resolves when the current one ended. */
  stop(): Promise<void>;
}

export interface PeriodicOptions {
  /** Names the loop in its log lines. */
  name: string;
  intervalMs: number;
  logger: Logger;
  run: () => Promise<void>;
  /**
   * `delay` (the default): the next pass starts `intervalMs` after this one ended. `rate`: one
   * interval after this one started, so a slow pass does not stretch the period.
   */
  pacing?: "delay" | "rate";
  /** Told every pass's outcome (null when it succeeded), e.g. for a metric. */
  onPass?: (err: unknown) => void;
  /** What the failure line says and how it shows the error; defaults name the loop. */
  failureMessage?: string;
  describeError?: (err: unknown) => unknown;
}

/**
 * Starts with a pass right away. A failing pass is logged once when it starts failing and once
 * when it recovers, not on every tick.
 */
export function startPeriodic(opts: PeriodicOptions): Periodic {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | null = null;
  let again = false;
  let failing = false;

  const schedule = (delayMs: number) => {
    timer = setTimeout(tick, delayMs);
  };
  // The callers' hooks run guarded: one that throws must not end the loop or go unhandled.
  const report = (err: unknown) => {
    try {
      opts.onPass?.(err);
    } catch (hookErr) {
      opts.logger.warn({ loop: opts.name, err: hookErr }, `${opts.name}: its pass report failed`);
    }
  };
  const succeeded = () => {
    if (failing) opts.logger.info({ loop: opts.name }, `${opts.name} works again`);
    failing = false;
    report(null);
  };
  const failed = (err: unknown) => {
    if (!failing) {
      let shown: unknown = err;
      try {
        shown = opts.describeError ? opts.describeError(err) : err;
      } catch {
        // The error as it is, then.
      }
      opts.logger.warn({ loop: opts.name, err: shown }, opts.failureMessage ?? `${opts.name} failed; retrying every ${opts.intervalMs} ms`);
    }
    failing = true;
    report(err);
  };
  function tick(): void {
    timer = undefined;
    if (stopped) return;
    const started = Date.now();
    current = opts
      .run()
      .then(succeeded, failed)
      .finally(() => {
        current = null;
        if (stopped) return;
        const period = opts.pacing === "rate" ? Math.max(0, opts.intervalMs - (Date.now() - started)) : opts.intervalMs;
        schedule(again ? 0 : period);
        again = false;
      });
  }
  schedule(0);

  return {
    wake() {
      if (stopped) return;
      if (current) {
        again = true;
      } else {
        clearTimeout(timer);
        schedule(0);
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
