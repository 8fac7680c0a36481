import type { Writable } from "node:stream";

/** Where and how the CLI writes: the streams, and whether they are a terminal. */
export interface Io {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export type OutputFormat = "table" | "json";

/** Colours only on a terminal, never with NO_COLOR set (https://no-color.org). */
export function colours(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv) {
  const on = stream.isTTY === true && !env.NO_COLOR && env.TERM !== "dumb";
  const paint = (code: string) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { on, bold: paint("1"), dim: paint("2"), red: paint("31"), green: paint("32"), yellow: paint("33"), cyan: paint("36") };
}
export type Colours = ReturnType<typeof colours>;

/** Colour of a job status or availability word. */
export function statusColour(c: Colours, status: string): string {
  if (["completed", "ok", "up", "active", "READY"].includes(status)) return c.green(status);
  if (["failed", "down", "revoked", "FAILED_REGISTRATION"].includes(status)) return c.red(status);
  if (["cancelled", "expired"].includes(status)) return c.yellow(status);
  return c.cyan(status);
}

/** Visible width of a string that may hold colour codes. */
const width = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").length;

/**
 * Rows as an aligned table with a header on a terminal; as tab-separated lines without
 * header when piped, so `cut`/`awk` read them.
 */
export function table(io: Io, headers: string[], rows: string[][]): string {
  if (!io.stdout.isTTY) return rows.map((r) => r.join("\t")).join("\n") + (rows.length ? "\n" : "");
  const c = colours(io.stdout, io.env);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - width(cell))))
      .join("  ")
      .trimEnd();
  return [c.bold(line(headers)), ...rows.map(line)].join("\n") + "\n";
}

/** `key: value` lines, keys aligned (also when piped: they are read by people). */
export function details(io: Io, pairs: [string, string][]): string {
  const c = colours(io.stdout, io.env);
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${c.dim(`${k}:`.padEnd(w + 1))} ${v}`).join("\n") + "\n";
}

export function writeJson(io: Io, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** `12s`, `3m 05s`, `1h 02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** An ISO timestamp as `2026-12-04 20:43:57` (UTC), or `-`. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "-";
}

export const dash = (v: unknown): string => (v === null || v === undefined || v === "" ? "-" : String(v));
