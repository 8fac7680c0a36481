/** What a flush answers for one item: its value, or the error that item alone failed with. */
export type ItemOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface BatcherOptions<T, R> {
  /** Flush as soon as this many items wait. */
  maxItems: number;
  /** Flush at most this long after the first item of a batch arrived; 0: once the current I/O is handled. */
  maxWaitMs: number;
  /**
   * Handles one batch; answers one outcome per item, in order. A throw fails every item of the
   * batch with that error: the flush decides what one item's failure means for the others.
   */
  flush(items: T[]): Promise<Array<ItemOutcome<R>>>;
}

export interface Batcher<T, R> {
  /** Resolves with the item's own outcome once the batch holding it was flushed. */
  submit(item: T): Promise<R>;
  /** Flushes what waits and resolves once every batch in progress has ended. */
  drain(): Promise<void>;
}

interface Waiting<T, R> {
  item: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/**
 * Groups items that arrive close together into one call of `flush`: many concurrent requests
 * then share one database round trip (and one commit) instead of paying one each. Batches run
 * concurrently; a batch is bounded by `maxItems` and by `maxWaitMs`, so one waiting item adds
 * at most that much latency.
 */
export function createBatcher<T, R>(opts: BatcherOptions<T, R>): Batcher<T, R> {
  let waiting: Array<Waiting<T, R>> = [];
  let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  const running = new Set<Promise<void>>();

  const clearTimer = () => {
    if (timer === null) return;
    if (opts.maxWaitMs > 0) clearTimeout(timer as NodeJS.Timeout);
    else clearImmediate(timer as NodeJS.Immediate);
    timer = null;
  };

  const run = async (batch: Array<Waiting<T, R>>): Promise<void> => {
    let outcomes: Array<ItemOutcome<R>>;
    try {
      outcomes = await opts.flush(batch.map((w) => w.item));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) w.reject(new Error(`batch flush answered ${outcomes.length} outcomes for ${batch.length} items`));
      else if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    });
  };

  const flushNow = () => {
    clearTimer();
    if (waiting.length === 0) return;
    const batch = waiting;
    waiting = [];
    const done = run(batch).finally(() => running.delete(done));
    running.add(done);
  };

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        if (waiting.length >= opts.maxItems) flushNow();
        else if (timer === null) timer = opts.maxWaitMs > 0 ? setTimeout(flushNow, opts.maxWaitMs) : setImmediate(flushNow);
      });
    },
    async drain() {
      flushNow();
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
