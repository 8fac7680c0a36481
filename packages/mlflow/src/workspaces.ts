import { z } from "zod";
import { MlflowConflictError } from "./errors.js";
import type { CallOptions, Transport } from "./transport.js";

const API = "/api/3.0/mlflow/workspaces";

/** The header with which MLflow (`--enable-workspaces`) scopes a call to one workspace. */
export const WORKSPACE_HEADER = "x-mlflow-workspace";

/** The workspace that holds everything made before workspaces were enabled (MLflow's name for it). */
export const DEFAULT_WORKSPACE = "default";

export interface Workspace {
  name: string;
  description?: string;
}

export interface WorkspacesApi {
  /** Every workspace of the server (`default` included). */
  listWorkspaces(o?: CallOptions): Promise<Workspace[]>;
  /** Creates the workspace unless it exists; either way it exists afterwards. */
  ensureWorkspace(name: string, o?: CallOptions): Promise<void>;
}

const WorkspaceSchema = z.looseObject({ name: z.string(), description: z.string().optional() });
const ListResponse = z.looseObject({ workspaces: z.array(WorkspaceSchema).default([]) });
const Empty = z.looseObject({});

export function workspacesApi(t: Transport): WorkspacesApi {
  return {
    async listWorkspaces(o) {
      return (await t.call({ method: "GET", path: API }, ListResponse, o)).workspaces;
    },
    async ensureWorkspace(name, o) {
      try {
        await t.call({ method: "POST", path: API, json: { name } }, Empty, o);
      } catch (err) {
        if (!(err instanceof MlflowConflictError)) throw err;
      }
    },
  };
}
