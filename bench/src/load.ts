import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { percentile, round } from "./spread.js";

export { round };

/** What every load result is measured with, recorded in each result file. */
export const LOAD_GENERATOR = {
  name: "bench/src/load.ts",
  transport: "undici Pool, keep-alive, pipelining 1, one process",
  clock: "process.hrtime (latencies kept in microseconds)",
  latency: "from the request's dispatch to the last byte of the answer",
} as const;

export interface LoadOptions {
  url: string;
  /** Keep-alive connections; in the closed loop, also the number of requests in flight. */
  connections: number;
  durationSeconds: number;
  /**
   * Fixes the offered load (requests/s across all connections): requests are dispatched on
   * schedule whether or not earlier ones were answered, up to one in flight per connection.
   * A request due while every connection is busy is not sent and is counted in `missed`, so a
   * server that cannot keep up shows as missed requests and a lower `rps` rather than as an
   * ever-growing client-side queue. Without it, each connection sends its next request when
   * the last one is answered.
   */
  rate?: number;
  method?: "GET" | "POST";
  body?: string;
  headers?: Record<string, string>;
  /**
   * How long one answer may take before it counts as an error (default 30 s). A baseline that
   * answers slower than that on a loaded machine needs more, or its latencies would go missing.
   */
  timeoutMs?: number;
  /** Also return every latency (µs), for a caller that pools several runs into one distribution. */
  keepLatencies?: boolean;
}

export interface LoadResult {
  requests: number;
  errors: number;
  non2xx: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
  /** Open loop only: how late the generator itself dispatched (p99), so its own jitter is visible. */
  dispatch_lag_p99_ms?: number;
  /** Open loop only: requests due while every connection was still waiting for an answer. */
  missed?: number;
  /** Every latency in µs, when asked for with `keepLatencies`. */
  latencies_us?: number[];
}

/**
 * One load run on loopback with microsecond resolution (autocannon reports whole
 * milliseconds, too coarse for the sub-millisecond figures the benchmarks compare).
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const pool = new Pool(url.origin, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: options.timeoutMs ?? 30_000,
    bodyTimeout: options.timeoutMs ?? 30_000,
  });
  const request = {
    path: `${url.pathname}${url.search}`,
    method: options.method ?? "GET",
    headers: options.headers ?? {},
    ...(options.body !== undefined ? { body: options.body } : {}),
  };
  const latenciesUs: number[] = [];
  const lagsMs: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let missed = 0;
  const once = async () => {
    const started = process.hrtime.bigint();
    try {
      const res = await pool.request(request);
      await res.body.arrayBuffer();
      latenciesUs.push(Number(process.hrtime.bigint() - started) / 1_000);
      if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
    } catch {
      errors++;
    }
  };

  const start = performance.now();
  const end = start + options.durationSeconds * 1_000;
  try {
    if (options.rate === undefined) {
      await Promise.all(
        Array.from({ length: options.connections }, async () => {
          while (performance.now() < end) await once();
        }),
      );
    } else {
      const interval = 1_000 / options.rate;
      const inFlight = new Set<Promise<void>>();
      let sent = 0;
      for (let now = start; now < end; now = performance.now()) {
        for (; start + sent * interval <= now; sent++) {
          if (inFlight.size >= options.connections) {
            missed++;
            continue;
          }
          lagsMs.push(now - (start + sent * interval));
          const pending = once();
          inFlight.add(pending);
          void pending.finally(() => inFlight.delete(pending));
        }
        await sleep(Math.max(0, start + sent * interval - performance.now()));
      }
      await Promise.all(inFlight);
    }
  } finally {
    await pool.close();
  }
  const elapsedSeconds = (performance.now() - start) / 1_000;
  const ms = (us: number) => round(us / 1_000, 3);
  const mean = latenciesUs.reduce((a, b) => a + b, 0) / Math.max(1, latenciesUs.length);
  return {
    requests: latenciesUs.length,
    errors,
    non2xx,
    rps: round(latenciesUs.length / elapsedSeconds, 1),
    p50_ms: ms(percentile(latenciesUs, 50)),
    p90_ms: ms(percentile(latenciesUs, 90)),
    p99_ms: ms(percentile(latenciesUs, 99)),
    max_ms: ms(latenciesUs.reduce((a, b) => Math.max(a, b), 0)),
    mean_ms: ms(mean),
    ...(options.rate !== undefined ? { dispatch_lag_p99_ms: round(percentile(lagsMs, 99), 3), missed } : {}),
    ...(options.keepLatencies ? { latencies_us: latenciesUs } : {}),
  };
}
