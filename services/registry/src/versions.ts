import { BusError } from "@asgard/bus";
import {
  MODEL_VERSIONS_MAX,
  modelNameProblems,
  type GetModelSignatureRequest,
  type ModelRef,
  type ModelSignature,
  type ModelVersionDetails,
  type ModelVersionList,
  type RunSummary,
} from "@asgard/contracts";
import { MlflowError, type MlflowClient, type ModelVersion } from "@asgard/mlflow";
import { fromMlflowError } from "./errors.js";
import { toModelVersionInfo } from "./mapping.js";
import { mlmodelLocation } from "./model-source.js";
import { readRun, toRunSummary } from "./run-details.js";
import { inputExamplePath, readMlmodelSignatureFields } from "./signature.js";

const MLMODEL_MAX_BYTES = 1024 * 1024;
/** An input example larger than this is not read: the form needs its first row only. */
const EXAMPLE_MAX_BYTES = 256 * 1024;
/** Runs read at once for a version list. */
const RUN_READS_IN_PARALLEL = 4;

const noModel = (name: string) => new BusError("NOT_FOUND", `no registered model is named ${JSON.stringify(name)}`);

const isMissing = (err: unknown) => err instanceof MlflowError && (err.code === "NOT_FOUND" || err.code === "VALIDATION_FAILED");


/** The tenant's model's versions newest first, each with its run's params and latest metrics. */
export async function listVersions(mlflow: MlflowClient, ref: ModelRef): Promise<ModelVersionList> {
  if (modelNameProblems(ref.model_name).length > 0) throw noModel(ref.model_name);
  let aliases: Record<string, string>;
  let versions: ModelVersion[];
  try {
    const model = await mlflow.getRegisteredModel(ref.model_name).catch((err: unknown) => {
      throw isMissing(err) ? noModel(ref.model_name) : err;
    });
    aliases = Object.fromEntries(model.aliases.map((a) => [a.alias, a.version]));
    const newest = Math.max(0, ...model.latest_versions.map((mv) => Number(mv.version)));
    versions = await newestVersions(mlflow, ref.model_name, newest);
  } catch (err) {
    throw fromMlflowError(err, "list the model's versions");
  }
  versions.sort((a, b) => Number(b.version) - Number(a.version));
  const listed = versions.slice(0, MODEL_VERSIONS_MAX);
  const runs = await runSummaries(mlflow, listed);
  const details: ModelVersionDetails[] = listed.map((mv) => ({ ...toModelVersionInfo(mv, aliases), run: (mv.run_id && runs.get(mv.run_id)) || null }));
  return { model_name: ref.model_name, versions: details, truncated: versions.length > MODEL_VERSIONS_MAX };
}

/**
 * Up to MODEL_VERSIONS_MAX + 1 versions, newest first. MLflow's search filter has no reliable
 * escape for a quote inside a name, so such a name is read version by version instead.
 */
async function newestVersions(mlflow: MlflowClient, name: string, newest: number): Promise<ModelVersion[]> {
  if (!/['\\]/.test(name)) {
    const page = await mlflow.searchModelVersions({ filter: `name = '${name}'`, maxResults: MODEL_VERSIONS_MAX + 1, orderBy: ["version_number DESC"] });
    return page.modelVersions.filter((mv) => mv.name === name);
  }
  const found: ModelVersion[] = [];
  for (let v = newest; v >= 1 && found.length <= MODEL_VERSIONS_MAX; v--) {
    const mv = await mlflow.getModelVersion(name, v).catch((err: unknown) => {
      if (isMissing(err)) return null;
      throw err;
    });
    if (mv) found.push(mv);
  }
  return found;
}

/** Each distinct run's summary; a run that is gone is left out (its version shows no run). */
async function runSummaries(mlflow: MlflowClient, versions: ModelVersion[]): Promise<Map<string, RunSummary>> {
  const ids = [...new Set(versions.map((mv) => mv.run_id).filter((id): id is string => Boolean(id)))];
  const out = new Map<string, RunSummary>();
  for (let i = 0; i < ids.length; i += RUN_READS_IN_PARALLEL) {
    await Promise.all(
      ids.slice(i, i + RUN_READS_IN_PARALLEL).map(async (id) => {
        try {
          out.set(id, toRunSummary(await readRun(mlflow, id)));
        } catch (err) {
          if (!(err instanceof BusError && err.code === "NOT_FOUND")) throw err;
        }
      }),
    );
  }
  return out;
}

/**
 * A version's signature, read from its MLmodel file as data (the model is never loaded here),
 * and the first row of its input example when one was logged.
 */
export async function versionSignature(mlflow: MlflowClient, req: GetModelSignatureRequest): Promise<ModelSignature> {
  const missing = () => new BusError("NOT_FOUND", `model ${JSON.stringify(req.model_name)} has no version ${JSON.stringify(req.version)}`);
  if (!/^[1-9][0-9]{0,9}$/.test(req.version) || modelNameProblems(req.model_name).length > 0) throw missing();
  let mv: ModelVersion;
  try {
    mv = await mlflow.getModelVersion(req.model_name, req.version);
  } catch (err) {
    throw isMissing(err) ? missing() : fromMlflowError(err, "read the version");
  }
  const empty: ModelSignature = { model_name: mv.name, version: mv.version, has_signature: false, inputs: [], outputs: [], input_example: null };
  let location: string | null;
  let mlmodel: string;
  try {
    location = await mlmodelLocation(mlflow, mv, 10_000);
    if (!location) return empty;
    mlmodel = (await mlflow.downloadArtifact(location, { maxBytes: MLMODEL_MAX_BYTES })).toString("utf8");
  } catch (err) {
    // A version whose files are gone has no signature to show; MLflow being down is a 503.
    if (isMissing(err)) return empty;
    throw fromMlflowError(err, "read the version's MLmodel file");
  }
  const fields = readMlmodelSignatureFields(mlmodel);
  if (!fields) return empty;
  const examplePath = inputExamplePath(mlmodel);
  const example = examplePath ? await firstExampleRow(mlflow, location.replace(/MLmodel$/, examplePath)) : null;
  return { ...empty, has_signature: true, ...fields, input_example: example };
}

type Scalar = string | number | boolean | null;
const isScalar = (v: unknown): v is Scalar => v === null || ["string", "number", "boolean"].includes(typeof v);

/**
 * The first row of an input example as MLflow saves it: a pandas frame in split orient
 * (`{"columns", "data"}`), a numpy array (a list of rows), or `{"inputs": …}`. Best effort:
 * anything else, or a read that fails, is no example.
 */
async function firstExampleRow(mlflow: MlflowClient, location: string): Promise<Scalar[] | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse((await mlflow.downloadArtifact(location, { maxBytes: EXAMPLE_MAX_BYTES })).toString("utf8"));
  } catch {
    return null;
  }
  return firstRowOf(parsed);
}

export function firstRowOf(example: unknown): Scalar[] | null {
  let rows: unknown = example;
  if (typeof example === "object" && example !== null && !Array.isArray(example)) {
    const obj = example as Record<string, unknown>;
    rows = Array.isArray(obj.data) ? obj.data : obj.inputs;
  }
  if (!Array.isArray(rows) || rows.length === 0) return null;
  const first: unknown = rows[0];
  const row = Array.isArray(first) ? first : [first];
  return row.every(isScalar) && row.length > 0 ? row : null;
}
