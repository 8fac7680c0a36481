import { createHash } from "node:crypto";
import type { ModelInfo, Tenant } from "@asgard/contracts";
import { decodePageToken, encodePageToken } from "./page-token.js";

/** An alias that points elsewhere than in the previous read of the registry. */
export interface AliasChange {
  tenant: Tenant;
  modelName: string;
  alias: string;
  /** null: deleted. */
  version: string | null;
  /** null: new. */
  previousVersion: string | null;
}

/** One page of the cached list. */
export interface ModelPage {
  models: ModelInfo[];
  nextPageToken: string | null;
}

interface Entry {
  info: ModelInfo;
  /** The model's JSON: its size bounds pages, and it goes into the generation hash. */
  json: string;
  bytes: number;
}

/**
 * The registry's copy of every registered model of one tenant, so listing never waits for MLflow. It is
 * replaced by each full read of MLflow (the poller), and single models are replaced by our
 * own writes at once. A full read that started before a write keeps the write's entry: the
 * read may predate it.
 */
export interface ModelCache {
  /** False until the first full read. */
  readonly loaded: boolean;
  readonly size: number;
  /** When the last full read finished; null before it. */
  refreshedAt(): Date | null;
  /** Counter of single-model writes, taken before a full read starts. */
  writeSeq(): number;
  /**
   * Replaces the cache with a full read that started at `startedAtSeq`. Returns the alias
   * changes it brings for models not written since (none on the first read).
   */
  replaceAll(models: readonly ModelInfo[], startedAtSeq: number): AliasChange[];
  /**
   * Puts a model read after a change and returns how its aliases differ from the cached copy
   * (the caller knows which of those it made itself).
   */
  put(model: ModelInfo): AliasChange[];
  /** Drops a model MLflow no longer has. */
  remove(name: string): void;
  get(name: string): ModelInfo | undefined;
  /**
   * A hash of the whole list's content: unchanged while the models are, and the same on every
   * replica that holds the same models, so a caller can keep its copy while it matches.
   */
  generation(): string;
  /**
   * Models by name after the token's, at most `maxResults` (all that fit when null) and at most
   * `maxBytes` of JSON (always at least one model, so paging advances).
   */
  page(pageToken: string | null, maxResults: number | null, maxBytes: number): ModelPage;
}

function entryOf(info: ModelInfo): Entry {
  const json = JSON.stringify(info);
  return { info, json, bytes: Buffer.byteLength(json, "utf8") };
}

/** Index of the first name in the sorted array greater than `name`. */
function firstAfter(sorted: readonly string[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) <= name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function diffAliases(tenant: Tenant, name: string, before: Record<string, string>, after: Record<string, string>): AliasChange[] {
  const changes: AliasChange[] = [];
  for (const [alias, version] of Object.entries(after)) {
    const previous = before[alias] ?? null;
    if (previous !== version) changes.push({ tenant, modelName: name, alias, version, previousVersion: previous });
  }
  for (const [alias, previous] of Object.entries(before)) {
    if (!(alias in after)) changes.push({ tenant, modelName: name, alias, version: null, previousVersion: previous });
  }
  return changes;
}

/** The cache of the tenant's models; the alias changes it reports name the tenant. */
export function createModelCache(tenant: Tenant): ModelCache {
  let entries = new Map<string, Entry>();
  let sorted: string[] | null = [];
  let loaded = false;
  let refreshedAt: Date | null = null;
  let seq = 0;
  let generation: string | null = null;
  /** Write counter value of each model's last single write. */
  const writtenAt = new Map<string, number>();

  const names = (): string[] => {
    sorted ??= [...entries.keys()].sort();
    return sorted;
  };

  return {
    get loaded() {
      return loaded;
    },
    get size() {
      return entries.size;
    },
    refreshedAt: () => refreshedAt,
    writeSeq: () => seq,
    replaceAll(models, startedAtSeq) {
      const next = new Map<string, Entry>();
      const changes: AliasChange[] = [];
      for (const info of models) {
        const written = (writtenAt.get(info.name) ?? -1) >= startedAtSeq;
        const current = entries.get(info.name);
        if (written) {
          if (current) next.set(info.name, current);
          continue;
        }
        if (loaded) changes.push(...diffAliases(tenant, info.name, current?.info.aliases ?? {}, info.aliases));
        next.set(info.name, entryOf(info));
      }
      for (const [name, current] of entries) {
        if (next.has(name)) continue;
        const written = (writtenAt.get(name) ?? -1) >= startedAtSeq;
        // Written since the read started: the write knows better than the read.
        if (written) next.set(name, current);
        else if (loaded) changes.push(...diffAliases(tenant, name, current.info.aliases, {}));
      }
      entries = next;
      sorted = null;
      generation = null;
      loaded = true;
      refreshedAt = new Date();
      writtenAt.clear();
      return changes;
    },
    put(model) {
      seq++;
      writtenAt.set(model.name, seq);
      const current = entries.get(model.name);
      if (!current) sorted = null;
      generation = null;
      entries.set(model.name, entryOf(model));
      return loaded ? diffAliases(tenant, model.name, current?.info.aliases ?? {}, model.aliases) : [];
    },
    remove(name) {
      seq++;
      writtenAt.set(name, seq);
      if (entries.delete(name)) sorted = null;
      generation = null;
    },
    get: (name) => entries.get(name)?.info,
    generation() {
      if (generation === null) {
        const hash = createHash("sha256");
        for (const name of names()) hash.update((entries.get(name) as Entry).json).update("\n");
        generation = hash.digest("base64url").slice(0, 27);
      }
      return generation;
    },
    page(pageToken, maxResults, maxBytes) {
      const all = names();
      let i = pageToken === null ? 0 : firstAfter(all, decodePageToken(pageToken));
      const models: ModelInfo[] = [];
      let bytes = 0;
      const limit = maxResults ?? Number.POSITIVE_INFINITY;
      while (i < all.length && models.length < limit) {
        const entry = entries.get(all[i] as string) as Entry;
        if (models.length > 0 && bytes + entry.bytes > maxBytes) break;
        models.push(entry.info);
        bytes += entry.bytes + 1;
        i++;
      }
      const last = models[models.length - 1];
      return { models, nextPageToken: i < all.length && last ? encodePageToken(last.name) : null };
    },
  };
}
