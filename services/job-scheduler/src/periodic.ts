import type { Logger } from "@asgard/telemetry";

/** A background loop: one pass at a time, every `intervalMs`, or at once when woken. */
export interface Periodic {
  /** Runs a pass as soon as the current one (if any) ends. */
  wake(): void;
  /** No new passes; resolves when the current one ended. */
  stop(): Promise<void>;
}

/**
 * Starts with a pass right away. A failing pass is logged once when it starts failing and once
 * when it recovers, not on every tick.
 */
export function startPeriodic(opts: {
  name: string;
  intervalMs: number;
  logger: Logger;
  run: () => Promise<void>;
}): Periodic {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | null = null;
  let again = false;
  let failing = false;

  const schedule = (delayMs: number) => {
    timer = setTimeout(tick, delayMs);
  };
  function tick(): void {
    timer = undefined;
    if (stopped) return;
    current = opts
      .run()
      .then(
        () => {
          if (failing) opts.logger.info({ loop: opts.name }, `${opts.name} works again`);
          failing = false;
        },
        (err: unknown) => {
          if (!failing) opts.logger.warn({ loop: opts.name, err }, `${opts.name} failed; retrying every ${opts.intervalMs} ms`);
          failing = true;
        },
      )
      .finally(() => {
        current = null;
        if (stopped) return;
        schedule(again ? 0 : opts.intervalMs);
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
