import autocannon from "autocannon";

export interface LoadResult {
  requests: number;
  errors: number;
  non2xx: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * One load run with autocannon on loopback. `rate` fixes the offered load (requests/s across
 * all connections); without it the connections send as fast as answers come back.
 */
export async function load(options: {
  url: string;
  connections: number;
  durationSeconds: number;
  rate?: number;
  method?: "GET" | "POST";
  body?: string;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    overallRate: options.rate,
    method: options.method ?? "GET",
    body: options.body,
    headers: options.headers,
    pipelining: 1,
  });
  return {
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    rps: round(result.requests.total / options.durationSeconds),
    p50_ms: result.latency.p50,
    p90_ms: result.latency.p90,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
  };
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
