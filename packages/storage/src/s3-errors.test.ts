import { describe, expect, it } from "vitest";
import { classifyS3Error, toStorageError } from "./s3-errors.js";

// Plain objects shaped like what @aws-sdk/client-s3 throws; the store's behaviour against a
// real server is covered in test/s3-store.test.ts.
const sdkError = (name: string, status?: number, message = "boom") =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

describe("classifyS3Error", () => {
  it.each([
    [sdkError("NoSuchBucket", 404), "BUCKET_NOT_FOUND"],
    [sdkError("SignatureDoesNotMatch", 403), "ACCESS_DENIED"],
    [sdkError("InvalidAccessKeyId", 403), "ACCESS_DENIED"],
    [sdkError("Unknown", 403), "ACCESS_DENIED"],
    [sdkError("CredentialsProviderError"), "ACCESS_DENIED"],
    [sdkError("InternalError", 500), "UNAVAILABLE"],
    [sdkError("SlowDown", 503), "UNAVAILABLE"],
    [sdkError("TimeoutError"), "UNAVAILABLE"],
    [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "UNAVAILABLE"],
    [sdkError("InvalidRequest", 400), "IO_ERROR"],
  ])("%s -> %s", (err, code) => {
    expect(classifyS3Error(err)).toBe(code);
  });
});

describe("toStorageError", () => {
  it("names the operation, key and bucket and masks the secret everywhere", () => {
    const secret = "s3cr3t-value";
    const err = toStorageError(sdkError("SignatureDoesNotMatch", 403, `signature mismatch for ${secret}`), {
      op: "put",
      bucket: "b1",
      key: "a/b",
      secrets: [secret],
    });
    expect(err.code).toBe("ACCESS_DENIED");
    expect(err.message).toContain('S3 put of "a/b" in bucket "b1" failed (ACCESS_DENIED)');
    expect(err.message).toContain("HTTP 403");
    expect(err.message).not.toContain(secret);
    expect(String((err.cause as Error).message)).not.toContain(secret);
  });
});
