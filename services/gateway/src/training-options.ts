import type { UploadParseOptions } from "@asgard/contracts";

/** How the log stream (`GET /mlops/training/jobs/{job_id}/logs`) paces itself. */
export interface LogStreamOptions {
  /**
   * Longest wait between two look-ups for new lines when no wake-up arrives (default 1000 ms).
   * Lines come with the scheduler's "lines stored" signals; this bounds the delay when one is missed.
   */
  pollIntervalMs: number;
  /** A `: keep-alive` comment is sent this often so proxies keep an idle stream open (default 15000 ms). */
  keepAliveMs: number;
  /** Lines asked from the scheduler per page (default 1000; the reply must fit one NATS message). */
  pageSize: number;
  /** Reconnect delay announced to EventSource clients with `retry:` (default 2000 ms). */
  retryMs: number;
}

export const DEFAULT_LOG_STREAM_OPTIONS: LogStreamOptions = {
  pollIntervalMs: 1_000,
  keepAliveMs: 15_000,
  pageSize: 1_000,
  retryMs: 2_000,
};

/** Options of the training routes; every field has a default. */
export interface TrainingRouteOptions {
  /** Upload limits (timeout range, script size); the contract's defaults when absent. */
  uploadLimits?: UploadParseOptions;
  logStream?: Partial<LogStreamOptions>;
}
