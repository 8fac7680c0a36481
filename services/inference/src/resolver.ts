import { BusError } from "@asgard/bus";
import { modelNameProblems, type ModelVersionRef, type Tenant } from "@asgard/contracts";
import { MlflowError, registrationState, type MlflowClient, type ModelVersion } from "@asgard/mlflow";
import { fromMlflow } from "./errors.js";

/** The version a request is answered by, with where its files are. */
export interface ResolvedVersion {
  /** Whose model it is: its files are read from this tenant's MLflow workspace. */
  tenant: Tenant;
  name: string;
  version: string;
  source: string;
  modelId: string;
  runId: string;
}

/**
 * Turns `latest`, a number or an alias of a tenant's model into a READY version, with a cache
 * the registry's events keep current. Names are looked up in the tenant's MLflow workspace
 * only: another tenant's model is as unknown as a missing one.
 */
export interface VersionResolver {
  resolve(tenant: Tenant, name: string, ref: ModelVersionRef): Promise<ResolvedVersion>;
  /** A new version is READY: `latest` of the model moves. */
  noteRegistered(tenant: Tenant, name: string): void;
  /** An alias was set or moved (version) or deleted (null). */
  noteAlias(tenant: Tenant, name: string, alias: string, version: string | null): void;
}

interface Cached<T> {
  value: T;
  at: number;
}

const CALL_TIMEOUT_MS = 10_000;
/** A version's source never changes, but a version can be deleted: re-read it now and then. */
const VERSION_TTL_FACTOR = 10;
/** Bound on cached references, so a client probing random names cannot grow them forever. */
const MAX_CACHED = 10_000;

const describeRef = (name: string, ref: ModelVersionRef) =>
  ref.kind === "version" ? `version ${ref.version} of model ${JSON.stringify(name)}` : ref.kind === "alias" ? `alias "@${ref.alias}" of model ${JSON.stringify(name)}` : `model ${JSON.stringify(name)}`;

/**
 * Resolves references on the request path without asking MLflow each time: `latest` and
 * aliases are remembered for `ttlMs` (the registry's events update them sooner), versions for
 * ten times that. Concurrent misses for one key share one MLflow call.
 */
/** `mlflow`: unscoped; each lookup goes to `mlflow.inWorkspace(tenant)`. */
export function createResolver(deps: { mlflow: MlflowClient; ttlMs: number; now?: () => number }): VersionResolver {
  const now = deps.now ?? Date.now;
  const refs = new Map<string, Cached<string>>();
  const versions = new Map<string, Cached<ResolvedVersion>>();
  const inflight = new Map<string, Promise<unknown>>();
  const key = (...parts: string[]) => parts.join("\u0000");

  function remember<T>(map: Map<string, Cached<T>>, k: string, value: T): void {
    if (map.size >= MAX_CACHED) map.delete(map.keys().next().value as string);
    map.set(k, { value, at: now() });
  }

  function shared<T>(k: string, work: () => Promise<T>): Promise<T> {
    const running = inflight.get(k) as Promise<T> | undefined;
    if (running) return running;
    const p = work().finally(() => inflight.delete(k));
    inflight.set(k, p);
    return p;
  }

  async function modelExists(mlflow: MlflowClient, name: string): Promise<boolean> {
    return (await mlflow.findRegisteredModel(name, { timeoutMs: CALL_TIMEOUT_MS })) !== null;
  }

  /** NOT_FOUND naming what is missing: the model itself, or only its version/alias. */
  async function notFound(mlflow: MlflowClient, name: string, ref: ModelVersionRef, cause: unknown): Promise<BusError> {
    const exists = await modelExists(mlflow, name).catch(() => true);
    if (!exists) return new BusError("NOT_FOUND", `no registered model is named ${JSON.stringify(name)}`, { cause });
    return new BusError("NOT_FOUND", `model ${JSON.stringify(name)} has no ${ref.kind === "alias" ? `alias "@${ref.alias}"` : `version ${ref.kind === "version" ? ref.version : "that is READY"}`}`, { cause });
  }

  function toResolved(tenant: Tenant, mv: ModelVersion): ResolvedVersion {
    return { tenant, name: mv.name, version: mv.version, source: mv.source, modelId: mv.model_id, runId: mv.run_id };
  }

  function requireReady(tenant: Tenant, mv: ModelVersion): ResolvedVersion {
    const state = registrationState(mv.status);
    if (state === "pending") throw new BusError("UNAVAILABLE", `version ${mv.version} of model ${JSON.stringify(mv.name)} is still being registered; retry shortly`);
    if (state === "failed") throw new BusError("NOT_FOUND", `version ${mv.version} of model ${JSON.stringify(mv.name)} failed to register (${mv.status_message || "no reason given"})`);
    return toResolved(tenant, mv);
  }

  async function version(tenant: Tenant, name: string, number: string): Promise<ResolvedVersion> {
    const k = key(tenant, name, number);
    const hit = versions.get(k);
    if (hit && now() - hit.at < deps.ttlMs * VERSION_TTL_FACTOR) return hit.value;
    return shared(`v${k}`, async () => {
      const ref: ModelVersionRef = { kind: "version", version: number };
      const mlflow = deps.mlflow.inWorkspace(tenant);
      try {
        const resolved = requireReady(tenant, await mlflow.getModelVersion(name, number, { timeoutMs: CALL_TIMEOUT_MS }));
        remember(versions, k, resolved);
        return resolved;
      } catch (err) {
        if (err instanceof MlflowError && err.code === "NOT_FOUND") throw await notFound(mlflow, name, ref, err);
        throw fromMlflow(err, describeRef(name, ref));
      }
    });
  }

  /** The highest READY version: MLflow's latest per stage, else a search down from the top. */
  async function latest(mlflow: MlflowClient, name: string): Promise<string> {
    const model = await mlflow.getRegisteredModel(name, { timeoutMs: CALL_TIMEOUT_MS });
    const listed = model.latest_versions.slice().sort((a, b) => Number(b.version) - Number(a.version));
    const top = listed[0];
    if (top && registrationState(top.status) === "ready") return top.version;
    // The newest version is still pending (or failed): look further down for a READY one.
    let pageToken: string | undefined;
    const literal = name.includes("'") ? (name.includes('"') ? null : `"${name}"`) : `'${name}'`;
    if (literal === null) throw new BusError("NOT_FOUND", `model ${JSON.stringify(name)} has no READY version among its latest`);
    do {
      const page = await mlflow.searchModelVersions(
        { filter: `name = ${literal}`, orderBy: ["version_number DESC"], maxResults: 100, pageToken },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
      const ready = page.modelVersions.find((mv) => registrationState(mv.status) === "ready");
      if (ready) return ready.version;
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    throw new BusError("NOT_FOUND", `model ${JSON.stringify(name)} has no READY version yet`);
  }

  async function reference(tenant: Tenant, name: string, ref: Exclude<ModelVersionRef, { kind: "version" }>): Promise<string> {
    const k = ref.kind === "alias" ? key(tenant, name, "@", ref.alias) : key(tenant, name, "latest");
    const hit = refs.get(k);
    if (hit && now() - hit.at < deps.ttlMs) return hit.value;
    return shared(`r${k}`, async () => {
      const mlflow = deps.mlflow.inWorkspace(tenant);
      try {
        const number =
          ref.kind === "alias" ? (await mlflow.getModelVersionByAlias(name, ref.alias, { timeoutMs: CALL_TIMEOUT_MS })).version : await latest(mlflow, name);
        remember(refs, k, number);
        return number;
      } catch (err) {
        if (err instanceof MlflowError && err.code === "NOT_FOUND") throw await notFound(mlflow, name, ref, err);
        throw fromMlflow(err, describeRef(name, ref));
      }
    });
  }

  return {
    async resolve(tenant, name, ref) {
      // A name MLflow would refuse names no model: not found rather than a validation error.
      if (modelNameProblems(name).length > 0) throw new BusError("NOT_FOUND", `no registered model is named ${JSON.stringify(name)}`);
      const number = ref.kind === "version" ? ref.version : await reference(tenant, name, ref);
      return version(tenant, name, number);
    },
    noteRegistered(tenant, name) {
      refs.delete(key(tenant, name, "latest"));
    },
    noteAlias(tenant, name, alias, number) {
      const k = key(tenant, name, "@", alias);
      if (number === null) refs.delete(k);
      else remember(refs, k, number);
    },
  };
}
