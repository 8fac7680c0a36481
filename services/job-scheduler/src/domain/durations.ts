/** A duration for people: whole hours or minutes when exact, else seconds, else milliseconds ("24 h", "30 min", "1.5 s", "250 ms"). */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1_000) return `${Number((ms / 1_000).toFixed(3))} s`;
  return `${ms} ms`;
}
