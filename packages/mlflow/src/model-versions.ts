import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import {
  MlflowRegistrationFailedError,
  MlflowRegistrationTimeoutError,
  MlflowUnavailableError,
} from "./errors.js";
import type { CallOptions, Transport } from "./transport.js";
import { ModelVersionSchema, PageTokenSchema, recordToTags, type ModelVersion } from "./types.js";

const API = "/api/2.0/mlflow/model-versions";

export interface CreateModelVersionInput {
  /** The registered model; it must exist. */
  name: string;
  /**
   * Where the model's files are: `models:/<model_id>` for an MLflow 3 LoggedModel (pass
   * `modelId` too), `runs:/<run_id>/<path>` (pass `runId`), or an artifact URI inside the
   * run's or the LoggedModel's artifact root.
   */
  source: string;
  runId?: string;
  modelId?: string;
  description?: string;
  tags?: Record<string, string>;
}

export interface SearchModelVersionsQuery {
  /** e.g. `name = 'fraud'` or `run_id = '<id>'`. */
  filter?: string;
  maxResults?: number;
  pageToken?: string;
  /** e.g. `["version_number DESC"]`. */
  orderBy?: string[];
}

export interface WaitForReadyOptions {
  /** Give up after this long, ms (default 60 s). */
  timeoutMs?: number;
  /** Pause between polls, ms (default 500). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** A model version's registration as three outcomes; unknown statuses count as pending. */
export type RegistrationState = "ready" | "pending" | "failed";

export function registrationState(status: string): RegistrationState {
  if (status === "READY") return "ready";
  if (status === "FAILED_REGISTRATION") return "failed";
  return "pending";
}

export interface ModelVersionsApi {
  /** Creates the next version; it starts PENDING_REGISTRATION or READY depending on the registry. */
  createModelVersion(input: CreateModelVersionInput, o?: CallOptions): Promise<ModelVersion>;
  /** The version; MlflowNotFoundError when there is none. */
  getModelVersion(name: string, version: string | number, o?: CallOptions): Promise<ModelVersion>;
  updateModelVersion(
    name: string,
    version: string | number,
    changes: { description: string },
    o?: CallOptions,
  ): Promise<ModelVersion>;
  searchModelVersions(
    q?: SearchModelVersionsQuery,
    o?: CallOptions,
  ): Promise<{ modelVersions: ModelVersion[]; nextPageToken: string | null }>;
  setModelVersionTag(name: string, version: string | number, key: string, value: string, o?: CallOptions): Promise<void>;
  deleteModelVersion(name: string, version: string | number, o?: CallOptions): Promise<void>;
  /**
   * Polls until the version is READY and returns it. FAILED_REGISTRATION throws
   * MlflowRegistrationFailedError (with MLflow's status message); running out of time throws
   * MlflowRegistrationTimeoutError. Polls that find MLflow briefly unavailable are retried.
   */
  waitForModelVersionReady(name: string, version: string | number, opts?: WaitForReadyOptions): Promise<ModelVersion>;
}

const VersionResponse = z.looseObject({ model_version: ModelVersionSchema });
const SearchResponse = z.looseObject({
  model_versions: z.array(ModelVersionSchema).default([]),
  next_page_token: PageTokenSchema,
});
const Empty = z.looseObject({});

export function modelVersionsApi(t: Transport): ModelVersionsApi {
  async function getModelVersion(name: string, version: string | number, o?: CallOptions): Promise<ModelVersion> {
    const res = await t.call(
      { method: "GET", path: `${API}/get`, query: { name, version: String(version) } },
      VersionResponse,
      o,
    );
    return res.model_version;
  }

  return {
    async createModelVersion(input, o) {
      const res = await t.call(
        {
          method: "POST",
          path: `${API}/create`,
          json: {
            name: input.name,
            source: input.source,
            run_id: input.runId,
            model_id: input.modelId,
            description: input.description,
            tags: recordToTags(input.tags),
          },
        },
        VersionResponse,
        o,
      );
      return res.model_version;
    },
    getModelVersion,
    async updateModelVersion(name, version, changes, o) {
      const res = await t.call(
        { method: "PATCH", path: `${API}/update`, json: { name, version: String(version), description: changes.description } },
        VersionResponse,
        o,
      );
      return res.model_version;
    },
    async searchModelVersions(q = {}, o) {
      // GET like the registered-model search; MLflow's default page is 10 000 versions.
      const res = await t.call(
        {
          method: "GET",
          path: `${API}/search`,
          query: { filter: q.filter, max_results: q.maxResults, page_token: q.pageToken, order_by: q.orderBy },
        },
        SearchResponse,
        o,
      );
      return { modelVersions: res.model_versions, nextPageToken: res.next_page_token };
    },
    async setModelVersionTag(name, version, key, value, o) {
      await t.call({ method: "POST", path: `${API}/set-tag`, json: { name, version: String(version), key, value } }, Empty, o);
    },
    async deleteModelVersion(name, version, o) {
      await t.call({ method: "DELETE", path: `${API}/delete`, json: { name, version: String(version) } }, Empty, o);
    },
    async waitForModelVersionReady(name, version, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 60_000;
      const intervalMs = opts.intervalMs ?? 500;
      const deadline = Date.now() + timeoutMs;
      let lastStatus: string | null = null;
      let lastError: unknown;
      for (;;) {
        const remaining = deadline - Date.now();
        try {
          const mv = await getModelVersion(name, version, {
            timeoutMs: Math.max(1, Math.min(t.timeoutMs, remaining)),
            signal: opts.signal,
          });
          lastStatus = mv.status;
          const state = registrationState(mv.status);
          if (state === "ready") return mv;
          if (state === "failed") throw new MlflowRegistrationFailedError(mv.name, mv.version, mv.status_message);
        } catch (err) {
          if (!(err instanceof MlflowUnavailableError)) throw err;
          lastError = err;
        }
        if (Date.now() + intervalMs > deadline) {
          throw new MlflowRegistrationTimeoutError(name, String(version), timeoutMs, lastStatus, lastError);
        }
        try {
          await sleep(intervalMs, undefined, opts.signal ? { signal: opts.signal } : undefined);
        } catch (err) {
          // Same contract as every call: an abort rejects with the caller's reason.
          if (opts.signal?.aborted) throw opts.signal.reason;
          throw err;
        }
      }
    },
  };
}
