import { z } from "zod";
import { MlflowError } from "./errors.js";
import type { CallOptions, Transport } from "./transport.js";
import { PageTokenSchema, RegisteredModelSchema, recordToTags, type RegisteredModel } from "./types.js";

const API = "/api/2.0/mlflow/registered-models";

export interface CreateRegisteredModelOptions {
  description?: string;
  tags?: Record<string, string>;
}

export interface SearchRegisteredModelsQuery {
  /** e.g. `name LIKE 'fraud-%'` or `tags.team = 'x'`. */
  filter?: string;
  /** Page size; MLflow's limit is 1000. */
  maxResults?: number;
  pageToken?: string;
  /** e.g. `["name ASC"]`, `["last_updated_timestamp DESC"]`. */
  orderBy?: string[];
}

export interface RegisteredModelsApi {
  /** MlflowConflictError when the name is taken; MlflowValidationError for a name MLflow refuses (e.g. with "/"). */
  createRegisteredModel(name: string, opts?: CreateRegisteredModelOptions, o?: CallOptions): Promise<RegisteredModel>;
  /** The model with `latest_versions` and `aliases`; MlflowNotFoundError when there is none. */
  getRegisteredModel(name: string, o?: CallOptions): Promise<RegisteredModel>;
  /** The model, or null when there is none. */
  findRegisteredModel(name: string, o?: CallOptions): Promise<RegisteredModel | null>;
  updateRegisteredModel(name: string, changes: { description: string }, o?: CallOptions): Promise<RegisteredModel>;
  setRegisteredModelTag(name: string, key: string, value: string, o?: CallOptions): Promise<void>;
  searchRegisteredModels(
    q?: SearchRegisteredModelsQuery,
    o?: CallOptions,
  ): Promise<{ registeredModels: RegisteredModel[]; nextPageToken: string | null }>;
  /**
   * Counts registered models (optionally only those matching `filter`) by paging through the
   * search in pages of 1000: MLflow has no count endpoint.
   */
  countRegisteredModels(filter?: string, o?: CallOptions): Promise<number>;
  /** Deletes the model with all its versions and aliases. */
  deleteRegisteredModel(name: string, o?: CallOptions): Promise<void>;
}

const ModelResponse = z.looseObject({ registered_model: RegisteredModelSchema });
const SearchResponse = z.looseObject({
  registered_models: z.array(RegisteredModelSchema).default([]),
  next_page_token: PageTokenSchema,
});
const Empty = z.looseObject({});

/** MLflow's largest page for registered models. */
const MAX_PAGE_SIZE = 1000;

export function registeredModelsApi(t: Transport): RegisteredModelsApi {
  async function getRegisteredModel(name: string, o?: CallOptions): Promise<RegisteredModel> {
    const res = await t.call({ method: "GET", path: `${API}/get`, query: { name } }, ModelResponse, o);
    return res.registered_model;
  }

  async function searchRegisteredModels(q: SearchRegisteredModelsQuery = {}, o?: CallOptions) {
    // This search is GET-only in MLflow (POST answers 405).
    const res = await t.call(
      {
        method: "GET",
        path: `${API}/search`,
        query: { filter: q.filter, max_results: q.maxResults ?? 100, page_token: q.pageToken, order_by: q.orderBy },
      },
      SearchResponse,
      o,
    );
    return { registeredModels: res.registered_models, nextPageToken: res.next_page_token };
  }

  return {
    async createRegisteredModel(name, opts = {}, o) {
      const res = await t.call(
        {
          method: "POST",
          path: `${API}/create`,
          json: { name, description: opts.description, tags: recordToTags(opts.tags) },
        },
        ModelResponse,
        o,
      );
      return res.registered_model;
    },
    getRegisteredModel,
    async findRegisteredModel(name, o) {
      try {
        return await getRegisteredModel(name, o);
      } catch (err) {
        if (err instanceof MlflowError && err.code === "NOT_FOUND") return null;
        throw err;
      }
    },
    async updateRegisteredModel(name, changes, o) {
      const res = await t.call(
        { method: "PATCH", path: `${API}/update`, json: { name, description: changes.description } },
        ModelResponse,
        o,
      );
      return res.registered_model;
    },
    async setRegisteredModelTag(name, key, value, o) {
      await t.call({ method: "POST", path: `${API}/set-tag`, json: { name, key, value } }, Empty, o);
    },
    searchRegisteredModels,
    async countRegisteredModels(filter, o) {
      let count = 0;
      let pageToken: string | undefined;
      do {
        const page = await searchRegisteredModels({ filter, maxResults: MAX_PAGE_SIZE, pageToken }, o);
        count += page.registeredModels.length;
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);
      return count;
    },
    async deleteRegisteredModel(name, o) {
      await t.call({ method: "DELETE", path: `${API}/delete`, json: { name } }, Empty, o);
    },
  };
}
