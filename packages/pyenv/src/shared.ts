import { cancelled } from "./errors.js";

/** What a unit of shared work gets: its own signal and a log that reaches every waiter. */
export interface WorkContext {
  signal: AbortSignal;
  log: (line: string) => void;
}

interface Waiter {
  onLog?: (line: string) => void;
}

interface Entry<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: Set<Waiter>;
}

/**
 * At most one run of the work per key in this process; concurrent callers wait on the same
 * promise. One caller's abort only detaches that caller: the work itself is aborted when
 * the last waiter has gone, so a cancelled job never cancels another job's build.
 */
export class SharedWork<T> {
  private readonly running = new Map<string, Entry<T>>();

  run(
    key: string,
    work: (ctx: WorkContext) => Promise<T>,
    opts: { signal?: AbortSignal; onLog?: (line: string) => void; what: string },
  ): Promise<T> {
    if (opts.signal?.aborted) return Promise.reject(cancelled(opts.what));
    let entry = this.running.get(key);
    if (!entry) {
      const controller = new AbortController();
      const waiters = new Set<Waiter>();
      const log = (line: string) => {
        for (const w of waiters) {
          try {
            w.onLog?.(line);
          } catch {
            /* a failing log sink must not break the work */
          }
        }
      };
      const created: Entry<T> = { controller, waiters, promise: Promise.resolve().then(() => work({ signal: controller.signal, log })) };
      entry = created;
      this.running.set(key, created);
      const forget = () => {
        if (this.running.get(key) === created) this.running.delete(key);
      };
      created.promise.then(forget, forget);
    }
    const joined = entry;
    const waiter: Waiter = opts.onLog ? { onLog: opts.onLog } : {};
    joined.waiters.add(waiter);
    return new Promise<T>((resolve, reject) => {
      let abandoned = false;
      const detach = () => {
        joined.waiters.delete(waiter);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        abandoned = true;
        detach();
        if (joined.waiters.size > 0) {
          reject(cancelled(opts.what));
          return;
        }
        // Nobody wants it any more: stop it, let the next caller start afresh, and answer
        // once the work has cleaned up (child killed, scratch removed, lock released).
        if (this.running.get(key) === joined) this.running.delete(key);
        joined.controller.abort();
        const done = () => reject(cancelled(opts.what));
        joined.promise.then(done, done);
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      joined.promise.then(
        (value) => {
          if (abandoned) return;
          detach();
          resolve(value);
        },
        (err: unknown) => {
          if (abandoned) return;
          detach();
          reject(err);
        },
      );
    });
  }
}
