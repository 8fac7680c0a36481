import { z } from "zod";
import { MlflowError, MlflowNotFoundError } from "./errors.js";
import type { CallOptions, Transport } from "./transport.js";
import { ModelVersionSchema, type ModelVersion } from "./types.js";

const API = "/api/2.0/mlflow/registered-models/alias";

export interface AliasesApi {
  /** Points `alias` at `version`, moving it when it already points elsewhere. */
  setAlias(name: string, alias: string, version: string | number, o?: CallOptions): Promise<void>;
  /** Removes the alias; removing one the model does not have succeeds (MLflow's behaviour). */
  deleteAlias(name: string, alias: string, o?: CallOptions): Promise<void>;
  /** The version the alias points at; MlflowNotFoundError when the model or the alias does not exist. */
  getModelVersionByAlias(name: string, alias: string, o?: CallOptions): Promise<ModelVersion>;
  /** The version the alias points at, or null when the model or the alias does not exist. */
  findModelVersionByAlias(name: string, alias: string, o?: CallOptions): Promise<ModelVersion | null>;
}

const VersionResponse = z.looseObject({ model_version: ModelVersionSchema });
const Empty = z.looseObject({});

/**
 * MLflow answers a missing alias with INVALID_PARAMETER_VALUE (400) rather than
 * RESOURCE_DOES_NOT_EXIST; recognise it by its message.
 */
export function isMissingAliasError(err: unknown): boolean {
  return err instanceof MlflowError && err.errorCode === "INVALID_PARAMETER_VALUE" && /alias .*not found/i.test(err.message);
}

export function aliasesApi(t: Transport): AliasesApi {
  async function getModelVersionByAlias(name: string, alias: string, o?: CallOptions): Promise<ModelVersion> {
    try {
      const res = await t.call({ method: "GET", path: API, query: { name, alias } }, VersionResponse, o);
      return res.model_version;
    } catch (err) {
      if (isMissingAliasError(err) && err instanceof MlflowError) {
        throw new MlflowNotFoundError(err.message, {
          errorCode: err.errorCode,
          httpStatus: err.httpStatus,
          operation: err.operation,
          cause: err,
        });
      }
      throw err;
    }
  }

  return {
    async setAlias(name, alias, version, o) {
      await t.call({ method: "POST", path: API, json: { name, alias, version: String(version) } }, Empty, o);
    },
    async deleteAlias(name, alias, o) {
      await t.call({ method: "DELETE", path: API, json: { name, alias } }, Empty, o);
    },
    getModelVersionByAlias,
    async findModelVersionByAlias(name, alias, o) {
      try {
        return await getModelVersionByAlias(name, alias, o);
      } catch (err) {
        if (err instanceof MlflowError && err.code === "NOT_FOUND") return null;
        throw err;
      }
    },
  };
}
