import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";
import { isTempName, tempPathFor } from "../src/atomic-write.js";
import { createBlobStore, createFsBlobStore } from "../src/index.js";
import { TEMP_NAME_PREFIX } from "../src/keys.js";
import { blobStoreContract, collect } from "./contract.js";

const base = join(inject("infra").workDir, `storage-fs-${randomBytes(4).toString("hex")}`);
let counter = 0;
const freshRoot = () => join(base, String(++counter));

afterAll(() => rm(base, { recursive: true, force: true }));

blobStoreContract("fs", () => createFsBlobStore({ root: freshRoot() }));

describe("file store", () => {
  it("writes through a reserved temporary name beside the target", () => {
    const target = join("/data", "models", "m1");
    const temp = tempPathFor(target);
    expect(dirname(temp)).toBe(dirname(target));
    expect(temp).not.toBe(target);
    expect(isTempName(temp)).toBe(true);
    expect(isTempName(target)).toBe(false);
  });

  it("refuses keys that use the reserved temporary name", async () => {
    const store = createFsBlobStore({ root: freshRoot() });
    await expect(store.put(`a/${TEMP_NAME_PREFIX}x`, "x")).rejects.toMatchObject({ code: "INVALID_KEY" });
  });

  it("ignores what a writer that crashed mid-write left behind", async () => {
    const root = freshRoot();
    const store = createFsBlobStore({ root });
    await store.put("models/m1", "complete");
    // A crash between write and rename leaves only the temporary file.
    await writeFile(tempPathFor(join(root, "models", "m1")), "compl");
    await writeFile(tempPathFor(join(root, "models", "m2")), "partial");
    expect((await store.get("models/m1"))?.toString()).toBe("complete");
    expect(await store.has("models/m2")).toBe(false);
    expect(await collect(store.list("models/"))).toEqual(["models/m1"]);
    expect((await readdir(join(root, "models"))).filter(isTempName)).toHaveLength(2);
  });

  it("never lets a reader see a partly written object", async () => {
    const root = freshRoot();
    const store = createFsBlobStore({ root });
    const versions = [Buffer.alloc(4 << 20, "a"), Buffer.alloc(4 << 20, "b"), Buffer.alloc(4 << 20, "c")];
    await store.put("big", versions[0]!);
    const writes = Promise.all(versions.flatMap((v) => [store.put("big", v), store.put("big", v)]));
    const reads: Array<Buffer | null> = [];
    let writing = true;
    void writes.finally(() => (writing = false));
    while (writing) reads.push(await store.get("big"));
    await writes;
    reads.push(await store.get("big"));
    for (const read of reads) {
      expect(versions.some((v) => read !== null && read.equals(v))).toBe(true);
    }
    expect((await readdir(root)).filter(isTempName)).toEqual([]);
  });

  it("cannot hold both a key and keys below it", async () => {
    const store = createFsBlobStore({ root: freshRoot() });
    await store.put("a/b", "x");
    await expect(store.put("a", "y")).rejects.toMatchObject({ code: "KEY_CONFLICT" });
    await expect(store.put("a/b/c", "y")).rejects.toMatchObject({ code: "KEY_CONFLICT" });
    // A folder is not a key.
    expect(await store.get("a")).toBeNull();
    expect(await store.has("a")).toBe(false);
    await store.delete("a");
    expect((await store.get("a/b"))?.toString()).toBe("x");
  });

  it("reports an unusable root as unavailable instead of throwing", async () => {
    const root = freshRoot();
    await mkdir(dirname(root), { recursive: true });
    await writeFile(root, "a file where the root should be");
    const health = await createFsBlobStore({ root }).health();
    expect(health).toMatchObject({ available: false, latencyMs: null });
    expect(health.error).toContain("root");
  });

  it("is what a file:// URL selects", async () => {
    const root = freshRoot();
    const store = createBlobStore({ url: pathToFileURL(root).href });
    expect(store.kind).toBe("fs");
    await store.put("x/y", "via url");
    expect((await createFsBlobStore({ root }).get("x/y"))?.toString()).toBe("via url");
  });
});
