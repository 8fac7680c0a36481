import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DEFAULT_TENANT } from "@asgard/contracts";
import type { MlflowClient } from "@asgard/mlflow";
import { safeJoin } from "@asgard/tools";
import type { ResolvedVersion } from "./resolver.js";

/** Written last into a model's directory: its presence means every file is there. */
const COMPLETE_MARKER = ".asgard-complete";
/** Most files one model may have (a model directory, not a dataset). */
const MAX_FILES = 5_000;
const CALL_TIMEOUT_MS = 120_000;

/** Thrown when a model's files cannot be fetched (not in the proxied store, too large, …). */
export class ModelFilesError extends Error {
  readonly code = "MODEL_FILES";
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = "ModelFilesError";
  }
}

/** `m-…` of a `models:/<model_id>` source (an MLflow 3 LoggedModel), else null. */
export function loggedModelIdOf(uri: string): string | null {
  const match = /^models:\/(m-[A-Za-z0-9]+)\/?$/.exec(uri);
  return match ? (match[1] as string) : null;
}

/**
 * The `mlflow-artifacts:` directory holding a version's MLmodel: its LoggedModel's artifacts
 * (MLflow 3), its own `mlflow-artifacts:` source, or the run's artifacts for a `runs:/` source.
 * Sources outside the proxied store are refused: the service holds no artifact-store credentials.
 */
export async function modelArtifactRoot(mlflow: MlflowClient, mv: ResolvedVersion): Promise<string> {
  const modelId = mv.modelId || loggedModelIdOf(mv.source);
  let root: string | null = null;
  if (modelId) {
    const model = await mlflow.getLoggedModel(modelId, { timeoutMs: CALL_TIMEOUT_MS });
    root = model.info.artifact_uri || null;
  } else if (mv.source.startsWith("mlflow-artifacts:")) {
    root = mv.source;
  } else {
    const run = /^runs:\/([^/]+)\/(.+)$/.exec(mv.source);
    if (run) {
      const { info } = await mlflow.getRun(run[1] as string, { timeoutMs: CALL_TIMEOUT_MS });
      root = `${info.artifact_uri.replace(/\/+$/, "")}/${(run[2] as string).replace(/\/+$/, "")}`;
    }
  }
  if (!root || !root.startsWith("mlflow-artifacts:")) {
    throw new ModelFilesError(`its files (source ${mv.source}) are not in MLflow's proxied artifact store, the only store the inference service reads`);
  }
  return root.replace(/\/+$/, "");
}

/**
 * Downloads a version's model directory through MLflow's artifact proxy into
 * `<root>/<key>/`, once: a complete copy is reused (a version's files never change), and a
 * partial one is never mistaken for it (files land in a scratch directory renamed at the end).
 * `mlflow` is bound to the version's tenant: the proxy serves a workspace's files only to
 * calls in that workspace. The key names the tenant too (the default tenant keeps the key of
 * the release before tenants, so its downloads are reused).
 */
export async function fetchModelFiles(mlflow: MlflowClient, mv: ResolvedVersion, root: string, maxBytes: number): Promise<string> {
  const parts = [...(mv.tenant === DEFAULT_TENANT ? [] : [`tenant=${mv.tenant}`]), mv.name, mv.version, mv.source];
  const key = createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
  const target = join(root, key);
  if (await exists(join(target, COMPLETE_MARKER))) return target;

  const artifactRoot = await modelArtifactRoot(mlflow, mv);
  const scratch = `${target}.tmp-${randomBytes(6).toString("hex")}`;
  await mkdir(scratch, { recursive: true });
  try {
    const budget = { bytes: maxBytes, files: MAX_FILES, limit: maxBytes };
    await downloadDir(mlflow, artifactRoot, "", scratch, budget);
    if (!(await exists(join(scratch, "MLmodel")))) {
      throw new ModelFilesError(`there is no MLmodel file in ${artifactRoot}; it is not an MLflow model`);
    }
    await writeFile(join(scratch, COMPLETE_MARKER), new Date().toISOString());
    try {
      await rename(scratch, target);
    } catch (err) {
      // Another replica sharing the directory finished first; its copy is as good.
      if (!(await exists(join(target, COMPLETE_MARKER)))) throw err;
    }
    return target;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function downloadDir(mlflow: MlflowClient, artifactRoot: string, relative: string, into: string, budget: { bytes: number; files: number; limit: number }): Promise<void> {
  const uri = relative === "" ? artifactRoot : `${artifactRoot}/${relative}`;
  const entries = await mlflow.listArtifacts(uri, { timeoutMs: CALL_TIMEOUT_MS });
  for (const entry of entries) {
    // The proxy lists names relative to the listed directory; tolerate full paths too.
    const name = entry.path.split("/").filter((s) => s !== "").pop() ?? "";
    if (name === "" || name === "." || name === "..") continue;
    const child = relative === "" ? name : `${relative}/${name}`;
    let local: string;
    try {
      local = safeJoin(into, child);
    } catch {
      throw new ModelFilesError(`artifact path ${JSON.stringify(child)} leaves the model directory`);
    }
    if (entry.is_dir) {
      await downloadDir(mlflow, artifactRoot, child, into, budget);
      continue;
    }
    if (--budget.files < 0) throw new ModelFilesError(`the model has more than ${MAX_FILES} files`);
    const remaining = budget.bytes;
    if (remaining <= 0 || (entry.file_size ?? 0) > remaining) throw new ModelFilesError(`the model's files are larger than the limit of ${Math.round(budget.limit / 1024 ** 2)} MiB`);
    const data = await mlflow.downloadArtifact(`${artifactRoot}/${child}`, { timeoutMs: CALL_TIMEOUT_MS, maxBytes: remaining });
    budget.bytes -= data.length;
    await mkdir(dirname(local), { recursive: true });
    await writeFile(local, data);
  }
}

/** The text of a file of a downloaded model, or null when it does not exist. */
export async function readModelFile(dir: string, name: string): Promise<string | null> {
  try {
    return await readFile(join(dir, name), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
