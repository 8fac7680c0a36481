import { createHash } from "node:crypto";

/**
 * JSON with the keys of every object sorted, so two equal values serialise to the same
 * text whatever order the client wrote its fields in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** sha256 (hex) of the canonical JSON of a parsed request: tells a repeat from another body under one key. */
export function requestHash(parsed: unknown): string {
  return createHash("sha256").update(canonicalJson(parsed), "utf8").digest("hex");
}
