import { z } from "zod";
import { MlflowValidationError, errorFromResponse } from "./errors.js";
import type { CallOptions, Transport } from "./transport.js";
import { ArtifactFileSchema, type ArtifactFile } from "./types.js";

/** The proxied artifact store (`mlflow server --serve-artifacts`). */
const PROXY_API = "/api/2.0/mlflow-artifacts/artifacts";

export interface DownloadOptions extends CallOptions {
  /** Refuse artifacts larger than this, bytes (default 256 MiB); the whole file is held in memory. */
  maxBytes?: number;
}

export interface ArtifactsApi {
  /**
   * Lists one directory of the proxied artifact store. `path` is relative to the store root
   * (`1/<run_id>/artifacts`) or an `mlflow-artifacts:` URI such as a run's `artifact_uri`.
   * A missing directory lists as empty (MLflow's behaviour).
   */
  listArtifacts(path: string, o?: CallOptions): Promise<ArtifactFile[]>;
  /** Lists a run's artifacts below `path` (its root when left out); paths are relative to the run's root. */
  listRunArtifacts(runId: string, path?: string, o?: CallOptions): Promise<{ rootUri: string; files: ArtifactFile[] }>;
  /** Downloads one file through the proxy; MlflowNotFoundError when it does not exist. */
  downloadArtifact(path: string, o?: DownloadOptions): Promise<Buffer>;
  /** Uploads one file through the proxy, replacing any file at that path. */
  uploadArtifact(path: string, content: Uint8Array | string, o?: CallOptions): Promise<void>;
}

const ListResponse = z.looseObject({ files: z.array(ArtifactFileSchema).default([]) });
const ListRunResponse = z.looseObject({
  root_uri: z.string().default(""),
  files: z.array(ArtifactFileSchema).default([]),
});

const DEFAULT_MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;

/**
 * The store-relative path of an artifact: accepts `mlflow-artifacts:/1/x`,
 * `mlflow-artifacts://host:port/1/x` and plain `1/x`. Refuses other schemes and `..`
 * segments, which the server would refuse anyway, with a clear message.
 */
export function artifactPathFromUri(uriOrPath: string): string {
  let path = uriOrPath;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(path);
  if (scheme) {
    if (scheme[1] !== "mlflow-artifacts") {
      throw new MlflowValidationError(`'${uriOrPath}' is not in the proxied artifact store (mlflow-artifacts:)`);
    }
    path = path.slice("mlflow-artifacts:".length);
    if (path.startsWith("//")) {
      const slash = path.indexOf("/", 2);
      path = slash === -1 ? "" : path.slice(slash);
    }
  }
  const segments = path.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.some((s) => s === "..")) {
    throw new MlflowValidationError(`artifact path '${uriOrPath}' must not contain '..'`);
  }
  return segments.join("/");
}

function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

export function artifactsApi(t: Transport): ArtifactsApi {
  return {
    async listArtifacts(path, o) {
      const res = await t.call({ method: "GET", path: PROXY_API, query: { path: artifactPathFromUri(path) } }, ListResponse, o);
      return res.files;
    },
    async listRunArtifacts(runId, path, o) {
      const res = await t.call(
        { method: "GET", path: "/api/2.0/mlflow/artifacts/list", query: { run_id: runId, path } },
        ListRunResponse,
        o,
      );
      return { rootUri: res.root_uri, files: res.files };
    },
    async downloadArtifact(path, o = {}) {
      const relative = artifactPathFromUri(path);
      if (relative === "") throw new MlflowValidationError(`artifact path '${path}' names no file`);
      const res = await t.send({ method: "GET", path: `${PROXY_API}/${encodePath(relative)}` }, o, {
        maxBytes: o.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES,
      });
      if (res.status < 200 || res.status >= 300) {
        throw errorFromResponse(res.operation, res.status, res.body.toString("utf8"), res.elapsedMs);
      }
      return res.body;
    },
    async uploadArtifact(path, content, o) {
      const relative = artifactPathFromUri(path);
      if (relative === "") throw new MlflowValidationError(`artifact path '${path}' names no file`);
      const res = await t.send({ method: "PUT", path: `${PROXY_API}/${encodePath(relative)}`, body: content }, o);
      if (res.status < 200 || res.status >= 300) {
        throw errorFromResponse(res.operation, res.status, res.body.toString("utf8"), res.elapsedMs);
      }
    },
  };
}
