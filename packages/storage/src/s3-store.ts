import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { BlobStore, StoreHealth } from "./blob-store.js";
import { StorageError } from "./errors.js";
import { joinKey, validateKey, validatePrefix } from "./keys.js";
import { classifyS3Error, httpStatusOf, toStorageError } from "./s3-errors.js";
import type { S3BlobStoreOptions, S3ConnectionOptions } from "./s3-options.js";

const DEFAULT_REGION = "us-east-1";
const DEFAULT_TIMEOUT_MS = 30_000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * A {@link BlobStore} in an S3 bucket (AWS or any S3-compatible server), optionally under
 * a key prefix so that several stores can share one bucket.
 */
export function createS3BlobStore(opts: S3BlobStoreOptions): BlobStore {
  const bucket = checkBucket(opts.bucket);
  const storePrefix = opts.prefix ? validatePrefix(joinKey(opts.prefix)) : "";
  const pageSize = opts.listPageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new StorageError("INVALID_CONFIG", `listPageSize must be an integer from 1 to 1000, got ${pageSize}`);
  }
  const client = createS3Client(opts);
  const secrets = secretsOf(opts);
  const fail = (err: unknown, op: string, key?: string) => toStorageError(err, { op, bucket, key, secrets });
  const objectKey = (key: string): string => joinKey(storePrefix, validateKey(key));

  return {
    kind: "s3",

    async put(key, body, putOpts) {
      const Key = objectKey(key);
      try {
        await client.send(new PutObjectCommand({
          Bucket: bucket,
          Key,
          Body: typeof body === "string" ? Buffer.from(body, "utf8") : body,
          ContentType: putOpts?.contentType,
        }));
      } catch (err) {
        throw fail(err, "put", key);
      }
    },

    async get(key) {
      const Key = objectKey(key);
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
        if (!res.Body) return Buffer.alloc(0);
        return Buffer.from(await res.Body.transformToByteArray());
      } catch (err) {
        if (isMissingObject(err)) return null;
        throw fail(err, "get", key);
      }
    },

    async has(key) {
      const Key = objectKey(key);
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
        return true;
      } catch (err) {
        // A HEAD answer has no body, so a missing bucket looks like a missing key here.
        if (httpStatusOf(err) === 404) return false;
        throw fail(err, "has", key);
      }
    },

    async delete(key) {
      const Key = objectKey(key);
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
      } catch (err) {
        if (isMissingObject(err)) return;
        throw fail(err, "delete", key);
      }
    },

    list(prefix) {
      validatePrefix(prefix);
      const full = storePrefix ? `${storePrefix}/${prefix}` : prefix;
      const strip = storePrefix ? storePrefix.length + 1 : 0;
      return listKeys(full);

      async function* listKeys(listPrefix: string): AsyncGenerator<string> {
        let token: string | undefined;
        do {
          let page;
          try {
            page = await client.send(new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: listPrefix,
              MaxKeys: pageSize,
              ContinuationToken: token,
            }));
          } catch (err) {
            throw fail(err, "list", prefix);
          }
          for (const object of page.Contents ?? []) {
            // Folder markers written by other tools ("a/") are not keys.
            if (object.Key && !object.Key.endsWith("/")) yield object.Key.slice(strip);
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      }
    },

    async health(): Promise<StoreHealth> {
      const started = performance.now();
      try {
        await client.send(new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: storePrefix ? `${storePrefix}/` : undefined,
          MaxKeys: 1,
        }));
        return { available: true, latencyMs: performance.now() - started, error: null };
      } catch (err) {
        return { available: false, latencyMs: null, error: fail(err, "health check").message };
      }
    },
  };
}

function createS3Client(opts: S3ConnectionOptions): S3Client {
  if (Boolean(opts.accessKeyId) !== Boolean(opts.secretAccessKey)) {
    throw new StorageError("INVALID_CONFIG", "S3 credentials need both accessKeyId and secretAccessKey, or neither");
  }
  const timeout = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new S3Client({
    region: opts.region ?? DEFAULT_REGION,
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
    credentials:
      opts.accessKeyId && opts.secretAccessKey
        ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }
        : undefined,
    requestHandler: {
      connectionTimeout: Math.min(timeout, 5_000),
      requestTimeout: timeout,
      throwOnRequestTimeout: true,
    },
  });
}

function checkBucket(bucket: string): string {
  if (!BUCKET_NAME.test(bucket)) {
    throw new StorageError("INVALID_CONFIG", `invalid S3 bucket name ${JSON.stringify(bucket)}`);
  }
  return bucket;
}

function secretsOf(opts: S3ConnectionOptions): string[] {
  return opts.secretAccessKey ? [opts.secretAccessKey] : [];
}

function isMissingObject(err: unknown): boolean {
  return httpStatusOf(err) === 404 && classifyS3Error(err) !== "BUCKET_NOT_FOUND";
}
