/** PEP 503 normalization: case-folded, runs of `-`, `_`, `.` become one `-`. */
export function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}
