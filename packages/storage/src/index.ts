export type { BlobStore, PutOptions, StoreHealth } from "./blob-store.js";
export { StorageError, type StorageErrorCode } from "./errors.js";
export { MAX_KEY_BYTES, validateKey, validatePrefix } from "./keys.js";
export { createFsBlobStore, type FsBlobStoreOptions } from "./fs-store.js";
export { createS3BlobStore } from "./s3-store.js";
export type { S3BlobStoreOptions, S3ConnectionOptions } from "./s3-options.js";
export { createBlobStore, type BlobStoreConfig } from "./create.js";
export { putContentAddressed, type ContentAddressedObject } from "./content-addressed.js";
