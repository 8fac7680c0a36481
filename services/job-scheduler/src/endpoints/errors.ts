import { BusError, type RpcHandler } from "@asgard/bus";
import type { RpcDef } from "@asgard/contracts";
import { DatabaseError } from "@asgard/db";
import { StorageError } from "@asgard/storage";

export const jobNotFound = (jobId: string): BusError => new BusError("NOT_FOUND", `job ${jobId} does not exist`);

/**
 * Failures of the database or blob store that may pass become UNAVAILABLE (the gateway's 503
 * with a retry) instead of an opaque internal error.
 */
export function asRpcError(err: unknown): unknown {
  if (err instanceof BusError) return err;
  if (err instanceof DatabaseError && err.code === "UNAVAILABLE") {
    return new BusError("UNAVAILABLE", "the job database is unavailable; try again shortly", { cause: err });
  }
  if (err instanceof StorageError && err.retryable) {
    return new BusError("UNAVAILABLE", "the script store is unavailable; try again shortly", { cause: err });
  }
  return err;
}

/** Wraps a handler so passing infrastructure failures answer UNAVAILABLE. */
export function guarded<D extends RpcDef>(handler: RpcHandler<D>): RpcHandler<D> {
  return async (req, rpcCtx) => {
    try {
      return await handler(req, rpcCtx);
    } catch (err) {
      throw asRpcError(err);
    }
  };
}
