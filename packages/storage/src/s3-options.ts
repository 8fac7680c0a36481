/** How to reach an S3-compatible service; shared by every S3 entry point. */
export interface S3ConnectionOptions {
  /** Signing region. Default `us-east-1` (what S3-compatible servers accept). */
  region?: string;
  /** A non-AWS endpoint, e.g. `http://127.0.0.1:8333`. Default: AWS for the region. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true when `endpoint` is set, as most non-AWS servers need. */
  forcePathStyle?: boolean;
  /** Static credentials; give both or neither (neither = the SDK's default provider chain). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Per-request limit (also bounds connecting). Default 30 000 ms. */
  requestTimeoutMs?: number;
}

export interface S3BlobStoreOptions extends S3ConnectionOptions {
  bucket: string;
  /** Keys live under `<prefix>/` in the bucket; listings return them without it. */
  prefix?: string;
  /** Keys per ListObjectsV2 page (1–1000). Default 1000; small values exercise paging in tests. */
  listPageSize?: number;
}
