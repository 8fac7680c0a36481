import { describe, expect, it } from "vitest";
import { BusError } from "@asgard/bus";
import { DatabaseError } from "@asgard/db";
import { StorageError } from "@asgard/storage";
import { asRpcError, isTransientDatabaseError } from "./errors.js";

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe("asRpcError", () => {
  it("turns passing database and store failures into UNAVAILABLE", () => {
    for (const err of [
      new DatabaseError("UNAVAILABLE", "down"),
      pgError("08006"),
      pgError("57P01"),
      pgError("40P01"),
      new Error("Connection terminated unexpectedly"),
      new StorageError("UNAVAILABLE", "s3 down"),
    ]) {
      expect(asRpcError(err)).toMatchObject({ code: "UNAVAILABLE" });
    }
  });
  it("leaves bugs and bus errors as they are", () => {
    const conflict = new BusError("CONFLICT", "x");
    expect(asRpcError(conflict)).toBe(conflict);
    const constraint = pgError("23505");
    expect(asRpcError(constraint)).toBe(constraint);
    expect(isTransientDatabaseError(new DatabaseError("MIGRATION_FAILED", "m"))).toBe(false);
    const denied = new StorageError("ACCESS_DENIED", "no");
    expect(asRpcError(denied)).toBe(denied);
  });
});
