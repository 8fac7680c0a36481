import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { readFields, readString } from "./protobuf-wire.js";

/**
 * Counts feature views in a Feast *registry file* (the protobuf `Registry` that `feast apply`
 * writes, e.g. `data/registry.db`). The file form was chosen over Feast's SQL registry
 * because it is Feast's default, needs no database server, and is read in one go
 * without a driver; the status service never writes it.
 *
 * Field numbers from feast/core/Registry.proto: `feature_views = 6`;
 * FeatureView `spec = 1`; FeatureViewSpec `project = 2`.
 */
const REGISTRY_FEATURE_VIEWS = 6;
const FEATURE_VIEW_SPEC = 1;
const SPEC_PROJECT = 2;

export interface FeatureStoreProbe {
  readonly location: string;
  countFeatureViews(): Promise<number>;
}

export class FeatureRegistryError extends Error {
  override readonly name = "FeatureRegistryError";
}

export function countFeatureViewsInRegistry(bytes: Uint8Array, project?: string): number {
  let count = 0;
  for (const field of readFields(bytes)) {
    if (field.number !== REGISTRY_FEATURE_VIEWS || !field.bytes) continue;
    if (project === undefined) {
      count++;
      continue;
    }
    for (const fv of readFields(field.bytes)) {
      if (fv.number === FEATURE_VIEW_SPEC && fv.bytes && readString(fv.bytes, SPEC_PROJECT) === project) count++;
    }
  }
  return count;
}

/** A probe over a local registry file (plain path or file:// URL), re-parsed only when it changes. */
export function createFeastRegistryFileProbe(location: string, project?: string): FeatureStoreProbe {
  const path = location.startsWith("file://") ? fileURLToPath(location) : location;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new FeatureRegistryError(
      `FEAST_REGISTRY_PATH must be a local registry file path or file:// URL, not ${location}`,
    );
  }
  let cached: { mtimeMs: number; size: number; count: number } | null = null;
  return {
    location: path,
    async countFeatureViews() {
      let info;
      try {
        info = await stat(path);
      } catch (err) {
        throw new FeatureRegistryError(`registry file ${path} cannot be read: ${(err as Error).message}`);
      }
      if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.count;
      const bytes = await readFile(path);
      let count: number;
      try {
        count = countFeatureViewsInRegistry(bytes, project);
      } catch (err) {
        throw new FeatureRegistryError(`registry file ${path} is not a Feast registry: ${(err as Error).message}`);
      }
      cached = { mtimeMs: info.mtimeMs, size: info.size, count };
      return count;
    },
  };
}
