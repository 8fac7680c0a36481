import { describe, expect, it } from "vitest";
import { createBlobStore } from "./create.js";
import { StorageError } from "./errors.js";

describe("createBlobStore", () => {
  it("selects the store by URL scheme", () => {
    expect(createBlobStore({ url: "file:///var/lib/asgard/blobs" }).kind).toBe("fs");
    const s3 = createBlobStore({
      url: "s3://asgard-artifacts/prod/blobs/",
      s3: { endpoint: "http://127.0.0.1:1", accessKeyId: "AK", secretAccessKey: "SK" },
    });
    expect(s3.kind).toBe("s3");
  });

  it.each([
    ["not a url", "not a URL"],
    ["http://example.com/blobs", "unsupported"],
    ["s3://user:pass@bucket/p", "credentials"],
    ["s3://bucket/p?x=1", "query"],
    ["file://host/path", "no host"],
    ["s3://Bad_Bucket/p", "bucket name"],
  ])("rejects %s", (url, why) => {
    let caught: unknown;
    try {
      createBlobStore({ url });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StorageError);
    expect((caught as StorageError).code).toBe("INVALID_CONFIG");
    expect((caught as StorageError).message).toContain(why);
    expect((caught as StorageError).message).not.toContain("pass@");
  });

  it("refuses half a credential pair", () => {
    expect(() => createBlobStore({ url: "s3://bucket-a/p", s3: { accessKeyId: "AK" } })).toThrow(/both accessKeyId/);
  });
});
