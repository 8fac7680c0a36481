/**
 * Strict base64 (RFC 4648 §4, standard alphabet, `=` padding required): exactly what
 * Python's `base64.b64encode` emits. Checked before decoding because Node's decoder never
 * fails — it skips what it cannot read, and would run a silently damaged script.
 */

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** JSON-Schema `pattern` of strict base64, for documentation. */
export const STRICT_BASE64_PATTERN = STRICT_BASE64.source;

/** Bytes that `text` decodes to, assuming it is strict base64. */
export function base64DecodedLength(text: string): number {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/** Length of the base64 text of `bytes` bytes. */
export function base64EncodedLength(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** Why `text` is not strict base64, or null when it is. */
export function base64Problem(text: string): string | null {
  if (STRICT_BASE64.test(text)) return null;
  const bad = /[^A-Za-z0-9+/=]/.exec(text);
  if (bad) {
    const ch = bad[0];
    const what = /\s/.test(ch)
      ? "whitespace or a line break"
      : ch === "-" || ch === "_"
        ? `"${ch}" (base64url; use the standard alphabet with + and /)`
        : `the character ${JSON.stringify(ch)}`;
    return `is not valid base64: it contains ${what} at position ${bad.index}; send base64.b64encode(source.encode("utf-8")).decode() unchanged`;
  }
  if (text.length % 4 !== 0) return `is not valid base64: its length (${text.length}) is not a multiple of 4 — padding "=" is missing or the text was cut`;
  return 'is not valid base64: "=" padding may only appear at the very end (at most two)';
}

/** Decodes text already checked by `base64Problem`. */
export function decodeBase64(text: string): Uint8Array {
  return Buffer.from(text, "base64");
}
