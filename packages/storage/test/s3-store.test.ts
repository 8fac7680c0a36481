import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { inspect } from "node:util";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createBlobStore, createS3BlobStore, StorageError, type S3BlobStoreOptions } from "../src/index.js";
import { blobStoreContract } from "./contract.js";

const s3 = inject("infra").s3;
// Runs share the harness bucket only within one run, but files run in parallel: each
// file, and each store in it, gets its own prefix.
const filePrefix = `storage-test-${randomBytes(6).toString("hex")}`;
let counter = 0;

function options(): Omit<S3BlobStoreOptions, "bucket"> & { bucket: string } {
  if (!s3) throw new Error("the test harness provided no S3 server (infra.s3 is null)");
  return {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    requestTimeoutMs: 10_000,
  };
}

beforeAll(() => {
  options();
});

blobStoreContract("s3", ({ listPageSize }) =>
  createS3BlobStore({ ...options(), prefix: `${filePrefix}/${++counter}`, listPageSize }),
);

describe("S3 store", () => {
  it("keeps its keys under its prefix and lists them without it", async () => {
    const prefix = `${filePrefix}/scoped`;
    const scoped = createS3BlobStore({ ...options(), prefix });
    const whole = createS3BlobStore(options());
    await scoped.put("a/b", "inside");
    expect((await whole.get(`${prefix}/a/b`))?.toString()).toBe("inside");
    const listed: string[] = [];
    for await (const key of scoped.list("a/")) listed.push(key);
    expect(listed).toEqual(["a/b"]);
  });

  it("is what an s3:// URL selects", async () => {
    const { bucket, ...connection } = options();
    const store = createBlobStore({ url: `s3://${bucket}/${filePrefix}/via-url/`, s3: connection });
    expect(store.kind).toBe("s3");
    await store.put("k", "v");
    expect((await createS3BlobStore({ ...options(), prefix: `${filePrefix}/via-url` }).get("k"))?.toString()).toBe("v");
  });

  it("fails with ACCESS_DENIED on a wrong secret, and never shows the secret", async () => {
    const wrongSecret = `wrong-${randomBytes(16).toString("hex")}`;
    const store = createS3BlobStore({ ...options(), secretAccessKey: wrongSecret, prefix: filePrefix });
    const err = await store.put("k", "v").then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe("ACCESS_DENIED");
    expect((err as StorageError).retryable).toBe(false);
    const everything = `${(err as Error).message}\n${(err as Error).stack}\n${inspect(err, { depth: 10 })}`;
    expect(everything).not.toContain(wrongSecret);
    expect(everything).not.toContain(options().secretAccessKey);

    const health = await store.health();
    expect(health.available).toBe(false);
    expect(health.error).toContain("ACCESS_DENIED");
    expect(health.error).not.toContain(wrongSecret);
  });

  it("fails with BUCKET_NOT_FOUND for a missing bucket", async () => {
    const store = createS3BlobStore({ ...options(), bucket: `missing-${randomBytes(6).toString("hex")}` });
    await expect(store.get("k")).rejects.toMatchObject({ code: "BUCKET_NOT_FOUND" });
    expect(await store.health()).toMatchObject({ available: false, latencyMs: null });
  });

  it("reports a closed port as unavailable instead of throwing", async () => {
    const port = await closedPort();
    const store = createS3BlobStore({ ...options(), endpoint: `http://127.0.0.1:${port}`, requestTimeoutMs: 2_000 });
    const health = await store.health();
    expect(health.available).toBe(false);
    expect(health.latencyMs).toBeNull();
    expect(health.error).toContain("UNAVAILABLE");
    await expect(store.get("k")).rejects.toMatchObject({ code: "UNAVAILABLE", retryable: true });
  });

  it("talks to a server that refuses unsigned requests", async () => {
    const { endpoint, bucket } = options();
    const store = createS3BlobStore({ ...options(), prefix: filePrefix });
    await store.put("signed-only", "secret data");
    const res = await fetch(`${endpoint}/${bucket}/${filePrefix}/signed-only`);
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain("secret data");
  });

  it("rejects a bucket name S3 would refuse", () => {
    expect(() => createS3BlobStore({ ...options(), bucket: "Not_A_Bucket" })).toThrow(StorageError);
  });
});

/** A loopback port that was free a moment ago, so nothing answers on it. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
