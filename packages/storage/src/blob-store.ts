/**
 * A flat key → bytes store. Keys are `/`-separated paths (see `validateKey`); the same
 * contract holds for the file store and the S3 store, so one setting can swap them.
 */
export interface BlobStore {
  readonly kind: "fs" | "s3";
  /** Writes the whole object; readers see either the old or the new content, never a part. */
  put(key: string, body: Buffer | string, opts?: PutOptions): Promise<void>;
  /** The object's bytes, or null when there is no object under `key`. */
  get(key: string): Promise<Buffer | null>;
  has(key: string): Promise<boolean>;
  /** Removes the object; deleting an absent key succeeds. */
  delete(key: string): Promise<void>;
  /**
   * Every key that starts with `prefix` (a plain string prefix, as in S3: `runs/1` also
   * matches `runs/10/x`; end it with `/` to stay inside a folder). `""` lists everything.
   * Paging is handled inside; the order is not part of the contract. An invalid prefix
   * throws `INVALID_KEY` at the call, before any iteration.
   */
  list(prefix: string): AsyncIterable<string>;
  /** Whether the store can be used right now. Never throws. */
  health(): Promise<StoreHealth>;
}

export interface PutOptions {
  /** Stored as the object's Content-Type by the S3 store; the file store ignores it. */
  contentType?: string;
}

export interface StoreHealth {
  available: boolean;
  /** Round trip of the probe, or null when it failed. */
  latencyMs: number | null;
  /** Why the store is unavailable (no credentials in it), or null. */
  error: string | null;
}
