import { createHash } from "node:crypto";
import { putContentAddressed, type BlobStore } from "@asgard/storage";
import { SCRIPTS_PREFIX } from "./context.js";

export interface StoredScript {
  sha256: string;
  size: number;
}

export interface ScriptStore {
  /** Stores the script under its digest unless it is there; resolves once it is. */
  put(script: Buffer): Promise<StoredScript>;
}

/** Digests remembered as stored; past this the oldest is forgotten (and checked again if seen). */
const REMEMBERED = 4_096;
/** A remembered digest is checked against the store again after this long. */
const REMEMBER_MS = 60_000;

/**
 * Content-addressed script storage that remembers what it stored: the platform never deletes a
 * script, so a digest stored a moment ago is still stored, and a burst of uploads of the same
 * script skips the store's existence check (a stat, or an S3 HEAD) after the first. An entry
 * expires after {@link REMEMBER_MS} so that an operator clearing the store is noticed.
 */
export function createScriptStore(blobs: BlobStore, now: () => number = Date.now): ScriptStore {
  const stored = new Map<string, { size: number; until: number }>();
  return {
    async put(script) {
      const sha256 = createHash("sha256").update(script).digest("hex");
      const known = stored.get(sha256);
      if (known && known.until > now()) return { sha256, size: known.size };
      const object = await putContentAddressed(blobs, SCRIPTS_PREFIX, script);
      stored.delete(sha256);
      stored.set(sha256, { size: object.size, until: now() + REMEMBER_MS });
      const oldest = stored.keys().next();
      if (stored.size > REMEMBERED && !oldest.done) stored.delete(oldest.value);
      return { sha256: object.sha256, size: object.size };
    },
  };
}
