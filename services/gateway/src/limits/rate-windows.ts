import type { RateCounts } from "@asgard/contracts";

/** What a counted request learns: the caller's count in this window so far, and the ms until it ends. */
export interface WindowHit {
  current: number;
  ttl: number;
}

/** The part of a replica's published counts that the windows read. */
export type PublishedCounts = Pick<RateCounts, "window_ms" | "window_start" | "counts">;

/**
 * Request counts per caller in fixed windows aligned to the epoch, so every gateway replica
 * counts in the same windows. A caller's count is this replica's own plus what the other
 * replicas last published for the same window: a request never waits for another replica,
 * and the others' counts arrive in the background (see rate-sharing.ts).
 */
export class RateWindows {
  readonly windowMs: number;
  #windowStart = -1;
  #local = new Map<string, number>();
  /** Whether this window's local counts changed since they were last taken for publishing. */
  #dirty = false;
  #replicas = new Map<string, PublishedCounts>();
  /** The other replicas' counts of the current window, summed per caller. */
  #remote = new Map<string, number>();

  constructor(windowMs: number) {
    if (!Number.isInteger(windowMs) || windowMs <= 0) throw new Error(`a rate window must be a positive whole number of ms (got ${windowMs})`);
    this.windowMs = windowMs;
  }

  /** Counts one request of `caller` at `now`. */
  hit(caller: string, now: number): WindowHit {
    this.#roll(now);
    const local = (this.#local.get(caller) ?? 0) + 1;
    this.#local.set(caller, local);
    this.#dirty = true;
    return { current: local + (this.#remote.get(caller) ?? 0), ttl: this.#windowStart + this.windowMs - now };
  }

  /** The caller's count so far in the window of `now`, without counting a request. */
  count(caller: string, now: number): number {
    this.#roll(now);
    return (this.#local.get(caller) ?? 0) + (this.#remote.get(caller) ?? 0);
  }

  /** This replica's counts of the current window, or null when they did not change since the last call. */
  takeChanges(now: number): PublishedCounts | null {
    this.#roll(now);
    if (!this.#dirty) return null;
    this.#dirty = false;
    return { window_ms: this.windowMs, window_start: this.#windowStart, counts: Object.fromEntries(this.#local) };
  }

  /** Publishing the last changes failed: take them again next time. */
  republish(): void {
    if (this.#local.size > 0) this.#dirty = true;
  }

  /** Another replica's latest counts (null once it is gone). */
  merge(replica: string, counts: PublishedCounts | null): void {
    if (counts === null) this.#replicas.delete(replica);
    else this.#replicas.set(replica, counts);
    this.#sumRemote();
  }

  #roll(now: number): void {
    const start = now - (now % this.windowMs);
    if (start === this.#windowStart) return;
    this.#windowStart = start;
    this.#local.clear();
    this.#dirty = false;
    this.#sumRemote();
  }

  /** Only counts of this very window count: a replica configured with another window, or still in the last one, adds nothing. */
  #sumRemote(): void {
    this.#remote.clear();
    for (const published of this.#replicas.values()) {
      if (published.window_ms !== this.windowMs || published.window_start !== this.#windowStart) continue;
      for (const [caller, n] of Object.entries(published.counts)) this.#remote.set(caller, (this.#remote.get(caller) ?? 0) + n);
    }
  }
}
