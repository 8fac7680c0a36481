import type {
  AliasResponse,
  CreateKeyResponse,
  InferenceResponse,
  Job,
  JobListResponse,
  KeyInfo,
  ModelInfo,
  StatusSnapshot,
  UploadResponse,
} from "@asgard/contracts";
import { ApiError, ConnectionError, type ApiErrorBody } from "./errors.js";

// Types only: the CLI ships as a bundle with no server code, so the contracts lend their
// types (erased at build) and the API validates every body itself.
export type { AliasResponse, CreateKeyResponse, InferenceResponse, Job, JobListResponse, KeyInfo, ModelInfo, StatusSnapshot, UploadResponse };

/** Body of `POST /mlops/training/upload` as the CLI sends it. */
export interface UploadBody {
  script_name: string;
  script_content: string;
  experiment_name: string;
  model_name: string;
  requirements: string[];
  environment_vars?: Record<string, string>;
  timeout?: number;
}

/** Body of `POST /mlops/inference`. */
export interface InferenceBody {
  model_name: string;
  model_version: string | null;
  inputs: Record<string, unknown[]>;
  return_probabilities?: boolean;
  [field: string]: unknown;
}

/** Body of `POST /mlops/keys`. */
export interface CreateKeyBody {
  name: string;
  scopes: string[];
  tenant?: string;
  expires_in_days?: number | null;
  rate_limit_per_minute?: number | null;
  limits_exempt?: boolean;
}

export interface JobListFilter {
  status?: string;
  experiment_name?: string;
  limit?: number;
  page_token?: string;
}

export interface ClientOptions {
  url: string;
  apiKey?: string;
}

/** Requests without an answer after this long fail (the log stream is exempt). */
const REQUEST_TIMEOUT_MS = 120_000;

/** The public HTTP API, one method per route the CLI uses. */
export interface AsgardClient {
  readonly url: string;
  status(): Promise<StatusSnapshot>;
  upload(body: UploadBody): Promise<UploadResponse>;
  listJobs(filter: JobListFilter): Promise<JobListResponse>;
  getJob(jobId: string): Promise<Job>;
  cancelJob(jobId: string): Promise<Job>;
  getScript(jobId: string): Promise<string>;
  /** Opens the job's Server-Sent Events log stream from `offset`. */
  streamLogs(jobId: string, offset: number, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  listModels(): Promise<ModelInfo[]>;
  getModel(name: string): Promise<ModelInfo>;
  setAlias(model: string, alias: string, version: string): Promise<AliasResponse>;
  deleteAlias(model: string, alias: string): Promise<void>;
  predict(body: InferenceBody): Promise<InferenceResponse>;
  createKey(body: CreateKeyBody): Promise<CreateKeyResponse>;
  listKeys(): Promise<KeyInfo[]>;
  revokeKey(id: string): Promise<KeyInfo>;
}

interface Call {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  accept?: string;
  signal?: AbortSignal;
}

export function createClient(options: ClientOptions): AsgardClient {
  const base = options.url.replace(/\/+$/, "");
  const seg = encodeURIComponent;

  async function send(call: Call): Promise<Response> {
    const url = new URL(base + call.path);
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: call.accept ?? "application/json" };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    if (call.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: call.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      if (call.signal?.aborted) throw error;
      throw new ConnectionError(base, connectionReason(error), { cause: error });
    }
    if (!res.ok) throw new ApiError(res.status, await errorBody(res), res.headers.get("retry-after"));
    return res;
  }

  const json = async <T>(call: Call): Promise<T> => (await (await send(call)).json()) as T;
  const job = (id: string) => `/mlops/training/jobs/${seg(id)}`;
  const alias = (model: string, name: string) => `/mlops/models/${seg(model)}/aliases/${seg(name)}`;

  return {
    url: base,
    status: () => json({ method: "GET", path: "/mlops/status" }),
    upload: (body) => json({ method: "POST", path: "/mlops/training/upload", body }),
    listJobs: (filter) => json({ method: "GET", path: "/mlops/training/jobs", query: { ...filter } }),
    getJob: (id) => json({ method: "GET", path: job(id) }),
    cancelJob: (id) => json({ method: "DELETE", path: job(id) }),
    getScript: async (id) => (await send({ method: "GET", path: `${job(id)}/script`, accept: "text/x-python" })).text(),
    async streamLogs(id, offset, signal) {
      const res = await send({ method: "GET", path: `${job(id)}/logs`, query: { offset }, accept: "text/event-stream", signal });
      if (!res.body) throw new ConnectionError(base, "the log stream had no body");
      return res.body;
    },
    listModels: () => json({ method: "GET", path: "/mlops/models" }),
    getModel: (name) => json({ method: "GET", path: `/mlops/models/${seg(name)}` }),
    setAlias: (model, name, version) => json({ method: "PUT", path: alias(model, name), body: { version } }),
    async deleteAlias(model, name) {
      await send({ method: "DELETE", path: alias(model, name) });
    },
    predict: (body) => json({ method: "POST", path: "/mlops/inference", body }),
    createKey: (body) => json({ method: "POST", path: "/mlops/keys", body }),
    listKeys: () => json({ method: "GET", path: "/mlops/keys" }),
    revokeKey: (id) => json({ method: "DELETE", path: `/mlops/keys/${seg(id)}` }),
  };
}

async function errorBody(res: Response): Promise<ApiErrorBody | null> {
  const text = await res.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === "object" ? (parsed as ApiErrorBody) : null;
  } catch {
    return text.trim() ? { message: text.trim().slice(0, 500) } : null;
  }
}

/** undici hides the system error (ECONNREFUSED, ENOTFOUND) in `cause`. */
function connectionReason(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "no answer in time";
  let e: unknown = error;
  while (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code) return code;
    e = e.cause;
  }
  return error instanceof Error ? error.message : String(error);
}
