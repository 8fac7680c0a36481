import type { MlflowClient } from "@asgard/mlflow";

/**
 * The MLflow 3 LoggedModel the run produced, if any: `mlflow.<flavor>.log_model()` writes a
 * LoggedModel whose source run is ours (its files are not in the run's artifact folder).
 * With several, the one named `model` wins, as `runs:/<run_id>/model` would resolve.
 */
export async function findLoggedModel(
  mlflow: Pick<MlflowClient, "searchLoggedModels">,
  experimentId: string,
  runId: string,
): Promise<{ id: string; uri: string } | null> {
  const { models } = await mlflow.searchLoggedModels({
    experimentIds: [experimentId],
    filter: `source_run_id = '${runId}'`,
    maxResults: 50,
  });
  const chosen = models.find((m) => m.info.name === "model") ?? models[0];
  if (chosen === undefined) return null;
  return { id: chosen.info.model_id, uri: `models:/${chosen.info.model_id}` };
}
