import { z } from "zod";
import { MlflowNotFoundError, MlflowValidationError } from "./errors.js";
import type { CallOptions, Transport } from "./transport.js";
import { ArtifactFileSchema, LoggedModelSchema, PageTokenSchema, RunSchema, experimentSearchBody, recordToTags, type ExperimentSearchQuery, type LoggedModel } from "./types.js";

const API = "/api/2.0/mlflow/logged-models";

export interface CreateLoggedModelInput {
  experimentId: string;
  /** MLflow generates one when left out; `log_model(name=…)` uses the artifact path, e.g. "model". */
  name?: string;
  modelType?: string;
  sourceRunId?: string;
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

export interface SearchLoggedModelsQuery extends ExperimentSearchQuery {
  /**
   * MLflow filter over attributes, params, metrics and tags, ANDed, e.g.
   * `source_run_id = '<run id>' AND name = 'model'` (string values in single quotes).
   */
  filter?: string;
  /** Page size; MLflow's default is 100. */
  maxResults?: number;
  orderBy?: { fieldName: string; ascending?: boolean }[];
}

/** What `createModelVersion` needs to register a run's model. */
export interface ModelSource {
  source: string;
  runId: string;
  /** The LoggedModel behind the source, when it is one (MLflow 3 `log_model`). */
  modelId: string | null;
}

export type LoggedModelFinalStatus = "LOGGED_MODEL_READY" | "LOGGED_MODEL_UPLOAD_FAILED";

export interface LoggedModelsApi {
  /** Creates a PENDING LoggedModel; its artifacts belong under the returned `info.artifact_uri`. */
  createLoggedModel(input: CreateLoggedModelInput, o?: CallOptions): Promise<LoggedModel>;
  /** Marks a LoggedModel READY (default) or UPLOAD_FAILED, as `log_model` does once files are uploaded. */
  finalizeLoggedModel(modelId: string, status?: LoggedModelFinalStatus, o?: CallOptions): Promise<LoggedModel>;
  /** The LoggedModel; MlflowNotFoundError when there is none. */
  getLoggedModel(modelId: string, o?: CallOptions): Promise<LoggedModel>;
  searchLoggedModels(
    q: SearchLoggedModelsQuery,
    o?: CallOptions,
  ): Promise<{ models: LoggedModel[]; nextPageToken: string | null }>;
  /**
   * Resolves `runs:/<runId>/<artifactPath>` the way `mlflow.register_model` does in MLflow 3:
   * files with an MLmodel under the run's artifacts win; otherwise the LoggedModel named
   * `artifactPath` whose source run is `runId` (the latest by step when there are several).
   * MlflowNotFoundError when the run has neither.
   */
  resolveRunModelSource(runId: string, artifactPath?: string, o?: CallOptions): Promise<ModelSource>;
}

const ModelResponse = z.looseObject({ model: LoggedModelSchema });
const SearchResponse = z.looseObject({
  models: z.array(LoggedModelSchema).default([]),
  next_page_token: PageTokenSchema,
});
const ListRunArtifactsResponse = z.looseObject({
  root_uri: z.string().default(""),
  files: z.array(ArtifactFileSchema).default([]),
});
const RunResponse = z.looseObject({ run: RunSchema });
const RunOutputs = z.looseObject({
  outputs: z
    .looseObject({
      model_outputs: z
        .array(z.looseObject({ model_id: z.string(), step: z.union([z.number(), z.string()]).transform(Number).default(0) }))
        .default([]),
    })
    .default({ model_outputs: [] }),
});

export function loggedModelsApi(t: Transport): LoggedModelsApi {
  async function searchLoggedModels(q: SearchLoggedModelsQuery, o?: CallOptions) {
    const res = await t.call(
      {
        method: "POST",
        path: `${API}/search`,
        json: {
          ...experimentSearchBody(q),
          order_by: q.orderBy?.map((ob) => ({ field_name: ob.fieldName, ascending: ob.ascending ?? true })),
        },
      },
      SearchResponse,
      o,
    );
    return { models: res.models, nextPageToken: res.next_page_token };
  }

  return {
    async createLoggedModel(input, o) {
      const res = await t.call(
        {
          method: "POST",
          path: API,
          json: {
            experiment_id: input.experimentId,
            name: input.name,
            model_type: input.modelType,
            source_run_id: input.sourceRunId,
            params: recordToTags(input.params),
            tags: recordToTags(input.tags),
          },
        },
        ModelResponse,
        o,
      );
      return res.model;
    },
    async finalizeLoggedModel(modelId, status = "LOGGED_MODEL_READY", o) {
      const path = `${API}/${encodeURIComponent(modelId)}`;
      const res = await t.call({ method: "PATCH", path, json: { model_id: modelId, status } }, ModelResponse, o);
      return res.model;
    },
    async getLoggedModel(modelId, o) {
      const res = await t.call({ method: "GET", path: `${API}/${encodeURIComponent(modelId)}` }, ModelResponse, o);
      return res.model;
    },
    searchLoggedModels,
    async resolveRunModelSource(runId, artifactPath = "model", o) {
      const cleanPath = artifactPath.replace(/^\/+|\/+$/g, "");
      if (cleanPath === "" || cleanPath.includes("'")) {
        throw new MlflowValidationError(`invalid artifact path '${artifactPath}' for run ${runId}`);
      }
      const listing = await t.call(
        { method: "GET", path: "/api/2.0/mlflow/artifacts/list", query: { run_id: runId, path: cleanPath } },
        ListRunArtifactsResponse,
        o,
      );
      if (listing.files.some((f) => f.path === `${cleanPath}/MLmodel`)) {
        return { source: `${listing.root_uri}/${cleanPath}`, runId, modelId: null };
      }

      const { run } = await t.call({ method: "GET", path: "/api/2.0/mlflow/runs/get", query: { run_id: runId } }, RunResponse, o);
      const candidates: LoggedModel[] = [];
      let pageToken: string | undefined;
      do {
        const page = await searchLoggedModels(
          {
            experimentIds: [run.info.experiment_id],
            filter: `source_run_id = '${runId}' AND name = '${cleanPath}'`,
            maxResults: 100,
            pageToken,
          },
          o,
        );
        candidates.push(...page.models.filter((m) => m.info.source_run_id === runId));
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);

      const [first, ...rest] = candidates;
      if (!first) {
        throw new MlflowNotFoundError(`run ${runId} has no model at '${cleanPath}' (neither an MLmodel file nor a LoggedModel)`);
      }
      if (rest.length === 0) return { source: `models:/${first.info.model_id}`, runId, modelId: first.info.model_id };

      const outputs = RunOutputs.safeParse(run);
      const steps = new Map(outputs.success ? outputs.data.outputs.model_outputs.map((mo) => [mo.model_id, mo.step]) : []);
      if (!candidates.every((m) => steps.has(m.info.model_id))) {
        throw new MlflowValidationError(
          `run ${runId} has ${candidates.length} LoggedModels named '${cleanPath}'; register one with models:/<model_id>`,
        );
      }
      const latest = candidates.reduce((a, b) => ((steps.get(b.info.model_id) ?? 0) > (steps.get(a.info.model_id) ?? 0) ? b : a));
      return { source: `models:/${latest.info.model_id}`, runId, modelId: latest.info.model_id };
    },
  };
}
