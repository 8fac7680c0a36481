const DEFAULT_MAX_GAP_MS = 2;

/** The outcome of one item of a batch: its own result or its own error. */
export type ItemOutcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface MicroBatcherOptions<I, O> {
  /** A batch never holds more rows than this (a single larger item goes alone). */
  maxBatchRows: number;
  /** Longest the runner is left idle to let a batch fill; 0 = send at once. */
  maxWaitMs: number;
  /**
   * While waiting, a batch also goes once no request has arrived for this long:
   * clients answered together come back together, so a pause means nobody else is coming (default 2 ms).
   */
  maxGapMs?: number;
  /** Runs one batch; one outcome per input, in order. A throw fails every item with it. */
  run(inputs: I[]): Promise<ItemOutcome<O>[]>;
}

interface Item<I, O> {
  input: I;
  rows: number;
  resolve(value: O): void;
  reject(err: unknown): void;
}

/** Counters of a batcher, for metrics and tests. */
export interface BatcherStats {
  batches: number;
  items: number;
  /** Items in the batch in flight plus those waiting. */
  outstanding: number;
}

/**
 * Coalesces concurrent requests into one call of `run`: model calls here cost about the same
 * for 1 row as for 64, so the throughput is in the batching. One batch is in flight at a time
 * (the worker is single-threaded); what arrives meanwhile waits and goes next.
 *
 * Adaptive wait: when the runner is idle, the queue goes at once — unless the previous cycle
 * saw more requests outstanding than are queued now. Then those clients are likely about to
 * send again (closed-loop callers answer one response with the next request), and the runner
 * waits for them up to `maxWaitMs`, or until the batch is full or as large as that demand,
 * or until arrivals pause for `maxGapMs` (independent, open-loop arrivals do not keep the
 * worker idle). A lone client never waits; under load, groups of clients merge instead of
 * alternating between two half-sized batches.
 */
export class MicroBatcher<I, O> {
  readonly #opts: MicroBatcherOptions<I, O>;
  #queue: Item<I, O>[] = [];
  #queuedRows = 0;
  #inFlight = 0;
  #busy = false;
  #timer: NodeJS.Timeout | null = null;
  /** When the current wait began and when the last request arrived (performance.now()). */
  #waitStarted = 0;
  #lastArrival = 0;
  /** Most items outstanding (queued + in flight) since the last dispatch: the demand estimate. */
  #peak = 0;
  #closed: Error | null = null;
  #batches = 0;
  #items = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(opts: MicroBatcherOptions<I, O>) {
    this.#opts = opts;
  }

  submit(input: I, rows: number): Promise<O> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ input, rows, resolve, reject });
      this.#queuedRows += rows;
      this.#lastArrival = performance.now();
      this.#peak = Math.max(this.#peak, this.#queue.length + this.#inFlight);
      this.#schedule();
    });
  }

  stats(): BatcherStats {
    return { batches: this.#batches, items: this.#items, outstanding: this.#queue.length + this.#inFlight };
  }

  /** True when nothing is queued or in flight. */
  get idle(): boolean {
    return !this.#busy && this.#queue.length === 0;
  }

  /** Resolves once nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Refuses new items with `err` and fails the queued ones with it; the batch in flight finishes. */
  close(err: Error): void {
    this.#closed = err;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const queued = this.#queue;
    this.#queue = [];
    this.#queuedRows = 0;
    for (const item of queued) item.reject(err);
    this.#notifyIdle();
  }

  #schedule(): void {
    if (this.#busy || this.#queue.length === 0) return;
    const full = this.#queuedRows >= this.#opts.maxBatchRows;
    const enough = this.#queue.length >= this.#peak;
    if (full || enough || this.#opts.maxWaitMs <= 0) {
      this.#dispatch();
      return;
    }
    if (this.#timer) return;
    this.#waitStarted = performance.now();
    this.#armWait();
  }

  /** When the current wait ends: an arrival gap after the last request, or the wait's limit. */
  #waitEnds(): number {
    const gap = Math.min(this.#opts.maxGapMs ?? DEFAULT_MAX_GAP_MS, this.#opts.maxWaitMs);
    // The gap counts from the wait's start at the earliest: the clients just answered need a round trip to come back.
    const lastSign = Math.max(this.#lastArrival, this.#waitStarted);
    return Math.min(lastSign + gap, this.#waitStarted + this.#opts.maxWaitMs);
  }

  /** Wakes up when the wait may end; an arrival meanwhile moves the end, and the timer is set again. */
  #armWait(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (performance.now() >= this.#waitEnds()) this.#dispatch();
      else this.#armWait();
    }, Math.max(0, this.#waitEnds() - performance.now()));
  }

  #dispatch(): void {
    if (this.#busy || this.#queue.length === 0) return;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const batch: Item<I, O>[] = [];
    let rows = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Item<I, O>;
      if (batch.length > 0 && rows + next.rows > this.#opts.maxBatchRows) break;
      batch.push(next);
      rows += next.rows;
      this.#queue.shift();
    }
    this.#queuedRows -= rows;
    this.#busy = true;
    this.#inFlight = batch.length;
    this.#peak = this.#queue.length + this.#inFlight;
    this.#batches++;
    this.#items += batch.length;
    void this.#runBatch(batch);
  }

  async #runBatch(batch: Item<I, O>[]): Promise<void> {
    let outcomes: ItemOutcome<O>[];
    try {
      outcomes = await this.#opts.run(batch.map((i) => i.input));
    } catch (err) {
      outcomes = batch.map(() => ({ ok: false, error: err }));
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i] ?? { ok: false, error: new Error("the batch returned no outcome for this item") };
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
    this.#busy = false;
    this.#inFlight = 0;
    this.#schedule();
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (!this.idle) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
