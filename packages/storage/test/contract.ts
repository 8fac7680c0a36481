import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { putContentAddressed, StorageError, type BlobStore } from "../src/index.js";

/** Builds a fresh store, isolated from every other one, listing `listPageSize` keys per page. */
export type BlobStoreFactory = (opts: { listPageSize: number }) => BlobStore | Promise<BlobStore>;

/** What every {@link BlobStore} must do, run once per implementation. */
export function blobStoreContract(name: string, factory: BlobStoreFactory): void {
  const fresh = () => factory({ listPageSize: 1000 });

  describe(`BlobStore contract: ${name}`, () => {
    it("round-trips put, get, has and delete", async () => {
      const store = await fresh();
      expect(await store.has("models/a.txt")).toBe(false);
      await store.put("models/a.txt", "hello", { contentType: "text/plain" });
      expect(await store.has("models/a.txt")).toBe(true);
      expect((await store.get("models/a.txt"))?.toString("utf8")).toBe("hello");
      await store.delete("models/a.txt");
      expect(await store.has("models/a.txt")).toBe(false);
      expect(await store.get("models/a.txt")).toBeNull();
    });

    it("keeps binary content byte for byte", async () => {
      const store = await fresh();
      const bytes = Buffer.concat([Buffer.from([0, 255, 0, 10, 13, 0x80]), randomBytes(64 * 1024)]);
      await store.put("bin/blob", bytes);
      const back = await store.get("bin/blob");
      expect(back).not.toBeNull();
      expect(Buffer.compare(back!, bytes)).toBe(0);
    });

    it("stores an empty object", async () => {
      const store = await fresh();
      await store.put("empty", Buffer.alloc(0));
      expect(await store.has("empty")).toBe(true);
      expect((await store.get("empty"))?.length).toBe(0);
    });

    it("overwrites an existing key", async () => {
      const store = await fresh();
      await store.put("k", "first version, longer");
      await store.put("k", "second");
      expect((await store.get("k"))?.toString()).toBe("second");
    });

    it("returns null for an absent key and deletes an absent key without error", async () => {
      const store = await fresh();
      expect(await store.get("nothing/here")).toBeNull();
      expect(await store.has("nothing/here")).toBe(false);
      await expect(store.delete("nothing/here")).resolves.toBeUndefined();
    });

    it("lists the keys under a prefix across several pages", async () => {
      const store = await factory({ listPageSize: 2 });
      const inside = ["runs/1/a", "runs/1/b", "runs/1/c/d", "runs/10/x", "runs/1/e", "runs/1/f"];
      const outside = ["runs/2/a", "other/runs/1/a", "runs-1/a"];
      await Promise.all([...inside, ...outside].map((k) => store.put(k, k)));
      expect((await collect(store.list("runs/1/"))).sort()).toEqual(
        ["runs/1/a", "runs/1/b", "runs/1/c/d", "runs/1/e", "runs/1/f"],
      );
      // A prefix is a plain string prefix, as in S3.
      expect((await collect(store.list("runs/1"))).sort()).toEqual([...inside].sort());
      expect((await collect(store.list(""))).sort()).toEqual([...inside, ...outside].sort());
      expect(await collect(store.list("missing/"))).toEqual([]);
    });

    it("rejects invalid keys with INVALID_KEY", async () => {
      const store = await fresh();
      const bad = ["", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", ".", "a\\b", "a\u0000b", "x".repeat(1025)];
      for (const key of bad) {
        await expect(store.put(key, "x"), JSON.stringify(key)).rejects.toMatchObject({
          name: "StorageError",
          code: "INVALID_KEY",
        });
        await expect(store.get(key)).rejects.toBeInstanceOf(StorageError);
        await expect(store.has(key)).rejects.toBeInstanceOf(StorageError);
        await expect(store.delete(key)).rejects.toBeInstanceOf(StorageError);
      }
      expect(() => store.list("../")).toThrow(StorageError);
      expect(() => store.list("a//")).toThrow(StorageError);
    });

    it("stores content under its sha256 and skips the upload when it is there", async () => {
      const store = await fresh();
      const content = Buffer.from("weights v1");
      const sha256 = createHash("sha256").update(content).digest("hex");
      const first = await putContentAddressed(store, "cas/", content);
      expect(first).toEqual({ key: `cas/${sha256}`, sha256, size: content.length, uploaded: true });
      const second = await putContentAddressed(store, "cas", content.toString("utf8"));
      expect(second).toEqual({ ...first, uploaded: false });
      expect((await store.get(first.key))?.equals(content)).toBe(true);
      expect(await collect(store.list("cas/"))).toEqual([first.key]);
    });

    it("reports itself healthy", async () => {
      const store = await fresh();
      const health = await store.health();
      expect(health.available).toBe(true);
      expect(health.error).toBeNull();
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    });
  });
}

export async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}
