import { StorageError } from "./errors.js";

/** S3's own limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/**
 * Names the file store writes while an object is in flight. Reserved so that a key can
 * never collide with them and listings can skip what a crashed writer left behind.
 */
export const TEMP_NAME_PREFIX = ".asgard-partial-";

/**
 * Checks a key: non-empty `/`-separated segments, none of them `.`, `..` or reserved,
 * no leading `/`, no `\`, no control characters, at most 1024 UTF-8 bytes. The rules are
 * the same for every store so that a key valid in tests is valid in production.
 */
export function validateKey(key: string): string {
  if (typeof key !== "string" || key.length === 0) throw invalid(key, "it is empty");
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) throw invalid(key, `it is longer than ${MAX_KEY_BYTES} bytes`);
  if (key.startsWith("/")) throw invalid(key, "it is absolute (starts with /)");
  if (key.includes("\\")) throw invalid(key, "it contains a backslash");
  if (/[\u0000-\u001f\u007f]/.test(key)) throw invalid(key, "it contains a control character");
  for (const segment of key.split("/")) {
    if (segment === "") throw invalid(key, "it has an empty segment (// or a trailing /)");
    if (segment === "." || segment === "..") throw invalid(key, `it has a "${segment}" segment`);
    if (segment.startsWith(TEMP_NAME_PREFIX)) throw invalid(key, `segments starting with ${TEMP_NAME_PREFIX} are reserved`);
  }
  return key;
}

/**
 * Checks a listing prefix: `""`, or a key, or a key followed by `/`. A partial last
 * segment is allowed (`runs/1` matches `runs/10`), an empty or dot segment is not.
 */
export function validatePrefix(prefix: string): string {
  if (prefix === "") return prefix;
  validateKey(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/** Joins non-empty parts with `/` after trimming their edge slashes. */
export function joinKey(...parts: string[]): string {
  return parts
    .map((p) => p.replace(/^\/+|\/+$/g, ""))
    .filter((p) => p !== "")
    .join("/");
}

function invalid(key: unknown, why: string): StorageError {
  const shown = typeof key === "string" ? JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key) : String(key);
  return new StorageError("INVALID_KEY", `invalid storage key ${shown}: ${why}`);
}
