import { BusError, type RpcHandler } from "@asgard/bus";
import type { RpcDef } from "@asgard/contracts";
import { DatabaseError, pgErrorCode } from "@asgard/db";
import { StorageError } from "@asgard/storage";

export const jobNotFound = (jobId: string): BusError => new BusError("NOT_FOUND", `job ${jobId} does not exist`);

/**
 * SQLSTATE classes that say "try again": connection exceptions (08), insufficient resources
 * (53), operator intervention such as a server shutdown (57P0x), serialization failures and
 * deadlocks (40).
 */
const PASSING_SQLSTATE = /^(08|53|57P0|40)/;

/** A database failure that may pass: no connection, the server going away, a lost race. */
export function isTransientDatabaseError(err: unknown): boolean {
  if (err instanceof DatabaseError) return err.code === "UNAVAILABLE";
  const code = pgErrorCode(err);
  if (code !== undefined) return PASSING_SQLSTATE.test(code);
  // pg reports a connection dropped mid-query without a SQLSTATE.
  return err instanceof Error && /Connection terminated/i.test(err.message);
}

/**
 * Failures of the database or blob store that may pass become UNAVAILABLE (the gateway's 503
 * with a retry) instead of an opaque internal error.
 */
export function asRpcError(err: unknown): unknown {
  if (err instanceof BusError) return err;
  if (isTransientDatabaseError(err)) {
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
