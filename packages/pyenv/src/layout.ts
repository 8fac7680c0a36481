import { join, resolve } from "node:path";
import { KEY_FORMAT } from "./keys.js";

/**
 * Where everything lives under `<cache root>/format-<KEY_FORMAT>/` (older formats sit beside it,
 * or directly under the root for format 1, until `purgeOldFormats` removes them):
 * - `locks/<requestKey>.txt` (+ `.json` with created_at): cached `uv pip compile` output, beside
 *   it `.constraints.txt` / `.excludes.txt`, the platform entries uv was given;
 * - `envs/<envKey>/`: published venvs (only ever created by rename, so always complete),
 *   beside them `<envKey>.json` (size, creation), `<envKey>.used` (LRU marker) and
 *   `<envKey>.leases/<pid>-<random>` (one file per live user);
 * - `tmp/`: venvs being built, named `<envKey>-<pid>-<random>` so a dead builder's scratch can be told apart;
 * - `mutex/`: cross-process lock directories.
 */
export interface Layout {
  root: string;
  locks: string;
  envs: string;
  tmp: string;
  mutex: string;
}

/** The folder of one key format under the cache root. */
export const formatDir = (root: string, format: number): string => join(resolve(root), `format-${format}`);

export function layoutOf(root: string, format: number = KEY_FORMAT): Layout {
  // Format 1 predates the format folders: it lives directly under the root.
  const abs = format === 1 ? resolve(root) : formatDir(root, format);
  return { root: abs, locks: join(abs, "locks"), envs: join(abs, "envs"), tmp: join(abs, "tmp"), mutex: join(abs, "mutex") };
}

export const envDir = (l: Layout, envKey: string) => join(l.envs, envKey);
export const envMetaFile = (l: Layout, envKey: string) => join(l.envs, `${envKey}.json`);
export const usedMarker = (l: Layout, envKey: string) => join(l.envs, `${envKey}.used`);
export const leasesDir = (l: Layout, envKey: string) => join(l.envs, `${envKey}.leases`);
export const lockFile = (l: Layout, requestKey: string) => join(l.locks, `${requestKey}.txt`);
export const lockMetaFile = (l: Layout, requestKey: string) => join(l.locks, `${requestKey}.json`);
/** The platform's constraints or exclusions given to uv for one request (never user text). */
export const constraintsFile = (l: Layout, requestKey: string, kind: "constraints" | "excludes") =>
  join(l.locks, `${requestKey}.${kind}.txt`);

/** Env directory names are exactly a sha256; everything else in envs/ is bookkeeping. */
export const ENV_KEY = /^[0-9a-f]{64}$/;
