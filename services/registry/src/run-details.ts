import { BusError } from "@asgard/bus";
import { RUN_HISTORY_MAX_KEYS, RUN_HISTORY_MAX_POINTS, type GetRunRequest, type MetricPoint, type RunDetails, type RunSummary } from "@asgard/contracts";
import { MlflowError, tagsToRecord, type Metric, type MlflowClient, type Run } from "@asgard/mlflow";
import { fromMlflowError } from "./errors.js";
import { isoFromMs } from "./mapping.js";

/** JSON has no NaN or ±Infinity: such a metric value is null on the wire. */
const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** A run's params and latest metrics, as each version's column of a comparison shows them. */
export function toRunSummary(run: Run): RunSummary {
  const metrics: Record<string, number | null> = {};
  for (const m of run.data.metrics) metrics[m.key] = finite(m.value);
  return { run_id: run.info.run_id, params: tagsToRecord(run.data.params), metrics };
}

/**
 * A history thinned to at most `max` points, evenly by index, always keeping the last one
 * (the value the run ended with), ordered by step then time.
 */
export function thin(points: readonly Metric[], max: number): MetricPoint[] {
  const sorted = [...points].sort((a, b) => a.step - b.step || (a.timestamp ?? 0) - (b.timestamp ?? 0));
  const picked = sorted.length <= max ? sorted : Array.from({ length: max }, (_, i) => sorted[Math.round((i * (sorted.length - 1)) / (max - 1))] as Metric);
  return picked.map((m) => ({ step: m.step, timestamp: m.timestamp ?? 0, value: finite(m.value) }));
}

/** A run of the tenant's workspace; a run of another workspace, or none, is NOT_FOUND. */
export async function readRun(mlflow: MlflowClient, runId: string): Promise<Run> {
  try {
    return await mlflow.getRun(runId);
  } catch (err) {
    if (err instanceof MlflowError && (err.code === "NOT_FOUND" || err.code === "VALIDATION_FAILED")) {
      throw new BusError("NOT_FOUND", `MLflow has no run ${JSON.stringify(runId)} (it may have been deleted)`, { cause: err });
    }
    throw fromMlflowError(err, "read the run");
  }
}

/** A job's run with every metric's history (the first keys in name order), for the job page's chart. */
export async function runDetails(mlflow: MlflowClient, req: GetRunRequest): Promise<RunDetails> {
  const run = await readRun(mlflow, req.run_id);
  const keys = [...new Set(run.data.metrics.map((m) => m.key))].sort();
  const charted = keys.slice(0, RUN_HISTORY_MAX_KEYS);
  const histories: Record<string, MetricPoint[]> = {};
  try {
    for (const key of charted) {
      histories[key] = thin(await mlflow.getMetricHistory(req.run_id, key), RUN_HISTORY_MAX_POINTS);
    }
  } catch (err) {
    throw fromMlflowError(err, "read the run's metric history");
  }
  const { info } = run;
  return {
    ...toRunSummary(run),
    job_id: req.job_id,
    experiment_id: info.experiment_id,
    run_name: info.run_name,
    status: info.status,
    start_time: info.start_time ? isoFromMs(info.start_time) : null,
    end_time: info.end_time ? isoFromMs(info.end_time) : null,
    histories,
    histories_omitted: keys.slice(RUN_HISTORY_MAX_KEYS),
  };
}
