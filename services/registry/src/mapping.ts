import { MODEL_VERSION_STATUSES, type ModelInfo, type ModelVersionInfo } from "@asgard/contracts";
import { tagsToRecord, type ModelVersion, type RegisteredModel } from "@asgard/mlflow";

/** MLflow's int64 milliseconds as ISO-8601 UTC; a missing or impossible time reads as the epoch. */
export function isoFromMs(ms: number | null | undefined): string {
  const date = new Date(typeof ms === "number" && Number.isFinite(ms) ? ms : 0);
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
}

type VersionStatus = ModelVersionInfo["status"];

/** MLflow's registration status; anything this contract does not know yet counts as pending. */
export function versionStatus(status: string): VersionStatus {
  return (MODEL_VERSION_STATUSES as readonly string[]).includes(status) ? (status as VersionStatus) : "PENDING_REGISTRATION";
}

/** Alias → version of a registered model. */
export function aliasMap(rm: Pick<RegisteredModel, "aliases">): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { alias, version } of rm.aliases) out[alias] = version;
  return out;
}

/**
 * One version in the API's shape. `aliases` comes from the model when given: MLflow lists a
 * version's aliases only when the version is read on its own, not inside a model.
 */
export function toModelVersionInfo(mv: ModelVersion, modelAliases?: Record<string, string>): ModelVersionInfo {
  const aliases = modelAliases
    ? Object.entries(modelAliases)
        .filter(([, version]) => version === mv.version)
        .map(([alias]) => alias)
        .sort()
    : [...mv.aliases].sort();
  return {
    name: mv.name,
    version: mv.version,
    stage: mv.current_stage || "None",
    run_id: mv.run_id || null,
    description: mv.description || null,
    tags: tagsToRecord(mv.tags),
    created_at: isoFromMs(mv.creation_timestamp),
    updated_at: isoFromMs(mv.last_updated_timestamp ?? mv.creation_timestamp),
    aliases,
    status: versionStatus(mv.status),
    source: mv.source,
  };
}

/** A registered model in the API's shape; `latest_versions` newest first (MLflow: the newest per stage). */
export function toModelInfo(rm: RegisteredModel): ModelInfo {
  const aliases = aliasMap(rm);
  const latest = [...rm.latest_versions].sort((a, b) => Number(b.version) - Number(a.version));
  return {
    name: rm.name,
    description: rm.description || null,
    tags: tagsToRecord(rm.tags),
    latest_versions: latest.map((mv) => toModelVersionInfo(mv, aliases)),
    created_at: isoFromMs(rm.creation_timestamp),
    updated_at: isoFromMs(rm.last_updated_timestamp ?? rm.creation_timestamp),
    aliases,
  };
}
