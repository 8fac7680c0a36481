import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * An API key is `asg_<id>_<secret>`: a public id (16 base32 characters, 80 random bits) that
 * names the key in lists, logs and revocation, and a secret of 256 random bits. Only the
 * SHA-256 of the whole key is stored; with that much entropy a fast hash is enough (there is
 * nothing to guess), and it keeps the per-request check in microseconds.
 */
const PREFIX = "asg_";
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const KEY_FORMAT = /^asg_([a-z2-7]{16})_[A-Za-z0-9_-]{43}$/;

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export interface NewKey {
  id: string;
  key: string;
  sha256: string;
}

export function sha256Hex(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export function newApiKey(): NewKey {
  const id = base32(randomBytes(10));
  const key = `${PREFIX}${id}_${randomBytes(32).toString("base64url")}`;
  return { id, key, sha256: sha256Hex(key) };
}

/** The id of a well-formed key, or null. */
export function keyIdOf(presented: string): string | null {
  return KEY_FORMAT.exec(presented)?.[1] ?? null;
}

/** Whether the presented key hashes to the stored digest, in constant time. */
export function keyMatches(presented: string, storedSha256: string): boolean {
  const a = Buffer.from(sha256Hex(presented), "hex");
  const b = Buffer.from(storedSha256, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The key a request presents: `Authorization: Bearer <key>`, `X-API-Key: <key>`, or
 * `Authorization: Basic` with the key as the password (what `requests` sends from
 * `~/.netrc`, so the original clients authenticate with no code change).
 */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | null {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const apiKey = header("x-api-key");
  if (apiKey) return apiKey.trim();
  const auth = header("authorization");
  if (!auth) return null;
  const [scheme, value = ""] = auth.trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() === "bearer") return value;
  if (scheme?.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon >= 0 ? decoded.slice(colon + 1) : decoded;
  }
  return null;
}
