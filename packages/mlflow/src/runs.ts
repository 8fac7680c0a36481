import { z } from "zod";
import { MlflowError } from "./errors.js";
import type { ViewType } from "./experiments.js";
import type { CallOptions, Transport } from "./transport.js";
import { MetricSchema, PageTokenSchema, RunInfoSchema, RunSchema, experimentSearchBody, metricValueToJson, recordToTags, type ExperimentSearchQuery, type Metric, type Run, type RunInfo } from "./types.js";

const API = "/api/2.0/mlflow/runs";

/** Terminal and non-terminal run states MLflow accepts in `runs/update`. */
export type RunStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";

export interface CreateRunInput {
  experimentId: string;
  runName?: string;
  tags?: Record<string, string>;
  /** Epoch ms; MLflow uses the server's clock when left out. */
  startTime?: number;
}

export interface UpdateRunInput {
  status: RunStatus;
  /** Epoch ms. */
  endTime?: number;
  runName?: string;
}

/** One metric point. NaN and ±Infinity are allowed and sent the way MLflow expects. */
export interface MetricInput {
  key: string;
  value: number;
  /** Epoch ms; now when left out. */
  timestamp?: number;
  step?: number;
}

export interface LogBatchInput {
  metrics?: MetricInput[];
  /** Params are write-once in MLflow: logging a different value for a key fails with VALIDATION_FAILED. */
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

export interface SearchRunsQuery extends ExperimentSearchQuery {
  /** e.g. `metrics.acc > 0.9 and tags.job = 'x'`. */
  filter?: string;
  viewType?: ViewType;
  /** Page size; MLflow's limit is 50 000. */
  maxResults?: number;
  orderBy?: string[];
}

export interface RunsApi {
  createRun(input: CreateRunInput, o?: CallOptions): Promise<Run>;
  /** The run; MlflowNotFoundError when there is none. */
  getRun(runId: string, o?: CallOptions): Promise<Run>;
  /** The run, or null when there is none. */
  findRun(runId: string, o?: CallOptions): Promise<Run | null>;
  updateRun(runId: string, input: UpdateRunInput, o?: CallOptions): Promise<RunInfo>;
  setRunTag(runId: string, key: string, value: string, o?: CallOptions): Promise<void>;
  /** Logs metrics, params and tags in one call (MLflow limits: 1000 metrics, 100 params, 100 tags). */
  logBatch(runId: string, input: LogBatchInput, o?: CallOptions): Promise<void>;
  searchRuns(q: SearchRunsQuery, o?: CallOptions): Promise<{ runs: Run[]; nextPageToken: string | null }>;
  /** Every logged point of one metric (`metrics/get-history`, all pages, at most `maxPoints`); MlflowNotFoundError for an unknown run. */
  getMetricHistory(runId: string, key: string, o?: CallOptions & { maxPoints?: number }): Promise<Metric[]>;
}

const RunResponse = z.looseObject({ run: RunSchema });
const UpdateResponse = z.looseObject({ run_info: RunInfoSchema });
const SearchResponse = z.looseObject({ runs: z.array(RunSchema).default([]), next_page_token: PageTokenSchema });
const Empty = z.looseObject({});
const HistoryResponse = z.looseObject({ metrics: z.array(MetricSchema).default([]), next_page_token: PageTokenSchema });
/** Largest history page MLflow serves. */
const HISTORY_PAGE = 25_000;
/** Points read when the caller sets no bound: a history longer than this is cut. */
const HISTORY_DEFAULT_MAX = 100_000;

export function runsApi(t: Transport): RunsApi {
  async function getRun(runId: string, o?: CallOptions): Promise<Run> {
    const res = await t.call({ method: "GET", path: `${API}/get`, query: { run_id: runId } }, RunResponse, o);
    return res.run;
  }

  return {
    async createRun(input, o) {
      const res = await t.call(
        {
          method: "POST",
          path: `${API}/create`,
          json: {
            experiment_id: input.experimentId,
            run_name: input.runName,
            start_time: input.startTime ?? Date.now(),
            tags: recordToTags(input.tags),
          },
        },
        RunResponse,
        o,
      );
      return res.run;
    },
    getRun,
    async findRun(runId, o) {
      try {
        return await getRun(runId, o);
      } catch (err) {
        if (err instanceof MlflowError && err.code === "NOT_FOUND") return null;
        throw err;
      }
    },
    async updateRun(runId, input, o) {
      const res = await t.call(
        {
          method: "POST",
          path: `${API}/update`,
          json: { run_id: runId, status: input.status, end_time: input.endTime, run_name: input.runName },
        },
        UpdateResponse,
        o,
      );
      return res.run_info;
    },
    async setRunTag(runId, key, value, o) {
      await t.call({ method: "POST", path: `${API}/set-tag`, json: { run_id: runId, key, value } }, Empty, o);
    },
    async logBatch(runId, input, o) {
      const now = Date.now();
      await t.call(
        {
          method: "POST",
          path: `${API}/log-batch`,
          json: {
            run_id: runId,
            metrics: (input.metrics ?? []).map((m) => ({
              key: m.key,
              value: metricValueToJson(m.value),
              timestamp: m.timestamp ?? now,
              step: m.step ?? 0,
            })),
            params: recordToTags(input.params),
            tags: recordToTags(input.tags),
          },
        },
        Empty,
        o,
      );
    },
    async searchRuns(q, o) {
      const res = await t.call(
        {
          method: "POST",
          path: `${API}/search`,
          json: {
            ...experimentSearchBody(q),
            run_view_type: q.viewType ?? "ACTIVE_ONLY",
            max_results: q.maxResults ?? 1000,
            order_by: q.orderBy,
          },
        },
        SearchResponse,
        o,
      );
      return { runs: res.runs, nextPageToken: res.next_page_token };
    },
    async getMetricHistory(runId, key, o = {}) {
      const max = o.maxPoints ?? HISTORY_DEFAULT_MAX;
      const points: Metric[] = [];
      let pageToken: string | undefined;
      do {
        const res = await t.call(
          {
            method: "GET",
            path: "/api/2.0/mlflow/metrics/get-history",
            query: { run_id: runId, metric_key: key, max_results: Math.min(HISTORY_PAGE, max - points.length), page_token: pageToken },
          },
          HistoryResponse,
          o,
        );
        points.push(...res.metrics);
        pageToken = res.next_page_token ?? undefined;
      } while (pageToken && points.length < max);
      return points.slice(0, max);
    },
  };
}
