/**
 * Every figure a benchmark reports is measured several times: one run on a shared 2-core
 * machine says little, so results carry each run and their median, min and max.
 */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Median, min and max of the runs (the median of an even count is the mean of the middle two). */
export function spread(values: number[], digits = 3): Spread {
  if (values.length === 0) throw new Error("spread of no runs");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median, digits), min: round(sorted[0]!, digits), max: round(sorted.at(-1)!, digits), runs: values.map((v) => round(v, digits)) };
}

/** Runs `measure` `times` times in sequence (never overlapping: each run would load the other). */
export async function repeat<T>(times: number, measure: (run: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < times; i++) results.push(await measure(i));
  return results;
}

/** The spread of one numeric field over runs of a structured result. */
export function spreadOf<T>(runs: readonly T[], pick: (run: T) => number, digits = 3): Spread {
  return spread(runs.map(pick), digits);
}

/** Nearest-rank percentile of raw samples. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
