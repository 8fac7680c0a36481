import { createHash } from "node:crypto";
import type { BlobStore } from "./blob-store.js";
import { joinKey, validateKey } from "./keys.js";

export interface ContentAddressedObject {
  /** `<prefix>/<sha256>`. */
  key: string;
  /** Lower-case hex SHA-256 of the content. */
  sha256: string;
  /** Bytes of the content. */
  size: number;
  /** False when an object was already stored under the key and the upload was skipped. */
  uploaded: boolean;
}

/**
 * Stores `content` under its SHA-256 below `prefix`. The key names the content, so an
 * object already there is the same bytes and is not uploaded again; concurrent callers
 * with the same content write the same bytes, which is harmless.
 */
export async function putContentAddressed(
  store: BlobStore,
  prefix: string,
  content: Buffer | string,
): Promise<ContentAddressedObject> {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const key = validateKey(joinKey(prefix, sha256));
  const uploaded = !(await store.has(key));
  if (uploaded) await store.put(key, bytes);
  return { key, sha256, size: bytes.length, uploaded };
}
