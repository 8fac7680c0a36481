import { constants } from "node:fs";
import { access, mkdir, readdir, readFile, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { BlobStore, StoreHealth } from "./blob-store.js";
import { isTempName, writeFileAtomic } from "./atomic-write.js";
import { StorageError } from "./errors.js";
import { validateKey, validatePrefix } from "./keys.js";

export interface FsBlobStoreOptions {
  /** The folder that holds the objects; a key `a/b` is the file `<root>/a/b`. Created on demand. */
  root: string;
}

/**
 * A {@link BlobStore} on the local file system, for a single machine and for tests.
 * Writes are atomic (temporary file + rename). Unlike S3 it cannot hold both `a` and
 * `a/b`: the second put fails with `KEY_CONFLICT`.
 */
export function createFsBlobStore(opts: FsBlobStoreOptions): BlobStore {
  const root = resolve(opts.root);
  const pathOf = (key: string): string => join(root, ...validateKey(key).split("/"));

  return {
    kind: "fs",

    async put(key, body) {
      const path = pathOf(key);
      const segments = key.split("/");
      try {
        await mkdir(join(root, ...segments.slice(0, -1)), { recursive: true });
        await writeFileAtomic(path, body);
      } catch (err) {
        if (isErrno(err, "EEXIST", "ENOTDIR", "EISDIR")) {
          throw new StorageError("KEY_CONFLICT",
            `cannot store "${key}": the file store cannot hold both a key and keys below it (like "a" and "a/b"), and the other one exists`,
            { cause: err });
        }
        throw ioError("put", key, err);
      }
    },

    async get(key) {
      const path = pathOf(key);
      try {
        return await readFile(path);
      } catch (err) {
        if (isErrno(err, "ENOENT", "ENOTDIR", "EISDIR")) return null;
        throw ioError("get", key, err);
      }
    },

    async has(key) {
      const path = pathOf(key);
      try {
        return (await stat(path)).isFile();
      } catch (err) {
        if (isErrno(err, "ENOENT", "ENOTDIR")) return false;
        throw ioError("has", key, err);
      }
    },

    async delete(key) {
      const path = pathOf(key);
      try {
        await unlink(path);
      } catch (err) {
        // A folder (EISDIR) is not a key, so there is nothing to delete.
        if (isErrno(err, "ENOENT", "ENOTDIR", "EISDIR")) return;
        throw ioError("delete", key, err);
      }
    },

    list(prefix) {
      validatePrefix(prefix);
      const slash = prefix.lastIndexOf("/");
      const folder = slash === -1 ? "" : prefix.slice(0, slash);
      return walk(root, folder, prefix);
    },

    async health(): Promise<StoreHealth> {
      const started = performance.now();
      try {
        await mkdir(root, { recursive: true });
        await access(root, constants.R_OK | constants.W_OK | constants.X_OK);
        return { available: true, latencyMs: performance.now() - started, error: null };
      } catch (err) {
        return { available: false, latencyMs: null, error: `file store root is not usable: ${errnoCode(err)}` };
      }
    },
  };
}

/** Depth-first over `folder` (a key path), yielding file keys that start with `prefix`. */
async function* walk(root: string, folder: string, prefix: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(join(root, ...(folder ? folder.split("/") : [])), { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, "ENOENT", "ENOTDIR")) return;
    throw ioError("list", prefix, err);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (isTempName(entry.name)) continue;
    const key = folder ? `${folder}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      // Descend only where keys below could still match the prefix.
      const below = `${key}/`;
      if (below.startsWith(prefix) || prefix.startsWith(below)) yield* walk(root, key, prefix);
    } else if (entry.isFile() && key.startsWith(prefix)) {
      yield key;
    }
  }
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes(errnoCode(err));
}

function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? "unknown";
}

function ioError(op: string, key: string, err: unknown): StorageError {
  return new StorageError("IO_ERROR", `file store ${op} of "${key}" failed: ${errnoCode(err)}`, { cause: err });
}
