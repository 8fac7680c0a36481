import { z } from "zod";
import { MlflowConflictError, MlflowError } from "./errors.js";
import type { CallOptions, Transport } from "./transport.js";
import { ExperimentSchema, PageTokenSchema, recordToTags, type Experiment } from "./types.js";

const API = "/api/2.0/mlflow/experiments";

/** Which experiments a search sees. */
export type ViewType = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";

export interface CreateExperimentOptions {
  tags?: Record<string, string>;
  /** Where the experiment's artifacts go; MLflow's default (`mlflow-artifacts:/<id>`) when left out. */
  artifactLocation?: string;
}

export interface SearchExperimentsQuery {
  /** MLflow filter syntax, e.g. `name LIKE 'train-%'` or `tags.team = 'x'`. */
  filter?: string;
  viewType?: ViewType;
  /** Page size; MLflow's limit is 50 000. */
  maxResults?: number;
  pageToken?: string;
  /** e.g. `["name ASC", "last_update_time DESC"]`. */
  orderBy?: string[];
}

export interface ExperimentsApi {
  /** The experiment with this id (deleted ones too); MlflowNotFoundError when there is none. */
  getExperiment(experimentId: string, o?: CallOptions): Promise<Experiment>;
  /** The experiment with this name, including a deleted one (check `lifecycle_stage`); null when none. */
  getExperimentByName(name: string, o?: CallOptions): Promise<Experiment | null>;
  /** Creates an experiment and returns its id; MlflowConflictError when the name is taken (deleted ones count). */
  createExperiment(name: string, opts?: CreateExperimentOptions, o?: CallOptions): Promise<string>;
  /**
   * The active experiment with this name, created (with `tags`) when missing; an existing
   * experiment's tags are left alone. Safe to race: when another
   * caller creates it first, this fetches theirs. MlflowConflictError when the name belongs to
   * a deleted experiment (MLflow keeps deleted names reserved).
   */
  getOrCreateExperiment(name: string, tags?: Record<string, string>, o?: CallOptions): Promise<Experiment>;
  searchExperiments(
    q?: SearchExperimentsQuery,
    o?: CallOptions,
  ): Promise<{ experiments: Experiment[]; nextPageToken: string | null }>;
  /**
   * Counts experiments (optionally only those matching `filter`) by paging through the
   * search in pages of 1000: MLflow has no count endpoint.
   */
  countExperiments(viewType?: ViewType, filter?: string, o?: CallOptions): Promise<number>;
  /** Marks the experiment deleted (MLflow keeps it restorable); MlflowNotFoundError when already deleted. */
  deleteExperiment(experimentId: string, o?: CallOptions): Promise<void>;
}

const GetResponse = z.looseObject({ experiment: ExperimentSchema });
const CreateResponse = z.looseObject({ experiment_id: z.string() });
const SearchResponse = z.looseObject({
  experiments: z.array(ExperimentSchema).default([]),
  next_page_token: PageTokenSchema,
});
const Empty = z.looseObject({});

/** Page size used when counting; large pages keep the number of round trips low. */
const COUNT_PAGE_SIZE = 1000;

export function experimentsApi(t: Transport): ExperimentsApi {
  async function getExperimentByName(name: string, o?: CallOptions): Promise<Experiment | null> {
    try {
      const res = await t.call({ method: "GET", path: `${API}/get-by-name`, query: { experiment_name: name } }, GetResponse, o);
      return res.experiment;
    } catch (err) {
      if (err instanceof MlflowError && err.code === "NOT_FOUND") return null;
      throw err;
    }
  }

  async function createExperiment(name: string, opts: CreateExperimentOptions = {}, o?: CallOptions): Promise<string> {
    const res = await t.call(
      {
        method: "POST",
        path: `${API}/create`,
        json: { name, artifact_location: opts.artifactLocation, tags: recordToTags(opts.tags) },
      },
      CreateResponse,
      o,
    );
    return res.experiment_id;
  }

  async function searchExperiments(q: SearchExperimentsQuery = {}, o?: CallOptions) {
    const res = await t.call(
      {
        method: "POST",
        path: `${API}/search`,
        json: {
          filter: q.filter,
          view_type: q.viewType ?? "ACTIVE_ONLY",
          // MLflow rejects a search without max_results (proto default 0).
          max_results: q.maxResults ?? 1000,
          page_token: q.pageToken,
          order_by: q.orderBy,
        },
      },
      SearchResponse,
      o,
    );
    return { experiments: res.experiments, nextPageToken: res.next_page_token };
  }

  return {
    async getExperiment(experimentId, o) {
      const res = await t.call({ method: "GET", path: `${API}/get`, query: { experiment_id: experimentId } }, GetResponse, o);
      return res.experiment;
    },
    getExperimentByName,
    createExperiment,
    async getOrCreateExperiment(name, tags, o) {
      const existing = await getExperimentByName(name, o);
      if (existing) return activeOrConflict(existing);
      try {
        const id = await createExperiment(name, { tags }, o);
        const res = await t.call({ method: "GET", path: `${API}/get`, query: { experiment_id: id } }, GetResponse, o);
        return res.experiment;
      } catch (err) {
        if (!(err instanceof MlflowError && err.code === "CONFLICT")) throw err;
        // Someone created it between our lookup and our create: theirs is as good as ours.
        const winner = await getExperimentByName(name, o);
        if (!winner) throw err;
        return activeOrConflict(winner);
      }
    },
    searchExperiments,
    async countExperiments(viewType = "ACTIVE_ONLY", filter, o) {
      let count = 0;
      let pageToken: string | undefined;
      do {
        const page = await searchExperiments({ viewType, filter, maxResults: COUNT_PAGE_SIZE, pageToken }, o);
        count += page.experiments.length;
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);
      return count;
    },
    async deleteExperiment(experimentId, o) {
      await t.call({ method: "POST", path: `${API}/delete`, json: { experiment_id: experimentId } }, Empty, o);
    },
  };
}

function activeOrConflict(experiment: Experiment): Experiment {
  if (experiment.lifecycle_stage === "deleted") {
    throw new MlflowConflictError(
      `experiment '${experiment.name}' (id ${experiment.experiment_id}) exists but is deleted; restore it or use another name`,
    );
  }
  return experiment;
}
