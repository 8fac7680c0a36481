import type { MlflowClient, ModelVersion } from "@asgard/mlflow";

/** `m-…` of a `models:/<model_id>` URI (an MLflow 3 LoggedModel), else null. */
export function loggedModelIdOf(uri: string): string | null {
  const match = /^models:\/(m-[A-Za-z0-9]+)\/?$/.exec(uri);
  return match ? (match[1] as string) : null;
}

const MLMODEL_MAX_BYTES = 1024 * 1024;

/**
 * Where a version's MLmodel file is in the proxied artifact store: under its LoggedModel's
 * artifacts (MLflow 3), under its `mlflow-artifacts:` source, or under the run's artifacts for
 * a `runs:/` source. Null for sources outside the proxied store (the registry never holds
 * artifact-store credentials).
 */
export async function mlmodelLocation(mlflow: MlflowClient, mv: Pick<ModelVersion, "source" | "model_id">, timeoutMs: number): Promise<string | null> {
  const modelId = mv.model_id || loggedModelIdOf(mv.source);
  if (modelId) {
    const model = await mlflow.getLoggedModel(modelId, { timeoutMs });
    return model.info.artifact_uri ? `${model.info.artifact_uri}/MLmodel` : null;
  }
  if (mv.source.startsWith("mlflow-artifacts:")) return `${mv.source.replace(/\/+$/, "")}/MLmodel`;
  const run = /^runs:\/([^/]+)\/(.+)$/.exec(mv.source);
  if (run) {
    const { info } = await mlflow.getRun(run[1] as string, { timeoutMs });
    if (!info.artifact_uri.startsWith("mlflow-artifacts:")) return null;
    return `${info.artifact_uri}/${(run[2] as string).replace(/\/+$/, "")}/MLmodel`;
  }
  return null;
}

/** The MLmodel file's text, or null when it is not in the proxied store. */
export async function readMlmodel(mlflow: MlflowClient, mv: Pick<ModelVersion, "source" | "model_id">, timeoutMs: number): Promise<string | null> {
  const location = await mlmodelLocation(mlflow, mv, timeoutMs);
  if (!location) return null;
  const bytes = await mlflow.downloadArtifact(location, { timeoutMs, maxBytes: MLMODEL_MAX_BYTES });
  return bytes.toString("utf8");
}
