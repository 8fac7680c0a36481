import { fileURLToPath } from "node:url";
import type { BlobStore } from "./blob-store.js";
import { StorageError } from "./errors.js";
import { createFsBlobStore } from "./fs-store.js";
import type { S3ConnectionOptions } from "./s3-options.js";
import { createS3BlobStore } from "./s3-store.js";

export interface BlobStoreConfig {
  /**
   * Which store, as one URL: `file:///var/lib/asgard/blobs` (a folder) or
   * `s3://bucket/optional/prefix`. The URL carries no credentials.
   */
  url: string;
  /** Endpoint and credentials for `s3://` URLs; ignored for `file://`. */
  s3?: S3ConnectionOptions;
}

/** Builds the store that `config.url` names, so one setting moves a deployment between them. */
export function createBlobStore(config: BlobStoreConfig): BlobStore {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new StorageError("INVALID_CONFIG", `blob store URL is not a URL (expected file:///path or s3://bucket/prefix)`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new StorageError("INVALID_CONFIG",
      "blob store URL must not carry credentials, a query or a fragment; pass S3 credentials in `s3`");
  }
  if (url.protocol === "file:") {
    if (url.host !== "") throw new StorageError("INVALID_CONFIG", `file:// URL must have no host: ${config.url}`);
    return createFsBlobStore({ root: fileURLToPath(url) });
  }
  if (url.protocol === "s3:") {
    if (!url.hostname) throw new StorageError("INVALID_CONFIG", `s3:// URL needs a bucket: ${config.url}`);
    const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "");
    return createS3BlobStore({ ...config.s3, bucket: url.hostname, prefix: prefix || undefined });
  }
  throw new StorageError("INVALID_CONFIG",
    `unsupported blob store URL scheme "${url.protocol}" (expected file: or s3:)`);
}
