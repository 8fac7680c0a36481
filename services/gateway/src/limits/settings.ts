/**
 * The gateway's per-key limits. A key may carry its own request rate (`rate_limit_per_minute`)
 * or be exempt (`limits_exempt`); requests without a key (local mode) share one generous
 * allowance, so benchmarks run in local mode measure the platform, not the limiter.
 */
export interface LimitSettings {
  /** Requests per minute of a key that carries no rate of its own. */
  ratePerMinute: number;
  /** Requests per minute of all clients of a gateway in local mode together. */
  localRatePerMinute: number;
  /** Requests are counted in fixed windows of this many seconds, aligned to the epoch on every replica. */
  rateWindowSeconds: number;
  /** Log streams (SSE) one key may hold open at once on one gateway replica. */
  logStreamsPerKey: number;
  /** Log streams all clients of a gateway in local mode may hold open at once. */
  localLogStreams: number;
}

export const DEFAULT_LIMITS: LimitSettings = Object.freeze({
  ratePerMinute: 6_000,
  // 100,000 requests/s: far above what one gateway on a laptop answers.
  localRatePerMinute: 6_000_000,
  rateWindowSeconds: 60,
  logStreamsPerKey: 20,
  localLogStreams: 1_000,
});

/** What the counters call requests made without a key (local mode). */
export const LOCAL_CALLER_ID = "local";
