import { describe, expect, it } from "vitest";
import { DatabaseError, MigrationError, isUniqueViolation, pgErrorCode } from "./errors.js";

const uniqueViolation = Object.assign(new Error('duplicate key value violates unique constraint "jobs_name_key"'), {
  code: "23505",
  constraint: "jobs_name_key",
});

describe("pgErrorCode", () => {
  it("reads the SQLSTATE of an error or of one of its causes", () => {
    expect(pgErrorCode(uniqueViolation)).toBe("23505");
    expect(pgErrorCode(new Error("outer", { cause: new Error("middle", { cause: uniqueViolation }) }))).toBe("23505");
  });

  it("ignores Node error codes and non-errors", () => {
    expect(pgErrorCode(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toBeUndefined();
    expect(pgErrorCode("23505")).toBeUndefined();
    expect(pgErrorCode(null)).toBeUndefined();
  });

  it("stops on a cyclic cause chain", () => {
    const a: { cause?: unknown } = {};
    const b = { cause: a };
    a.cause = b;
    expect(pgErrorCode(a)).toBeUndefined();
  });
});

describe("isUniqueViolation", () => {
  it("matches any unique constraint, or only the named one", () => {
    expect(isUniqueViolation(uniqueViolation)).toBe(true);
    expect(isUniqueViolation(uniqueViolation, "jobs_name_key")).toBe(true);
    expect(isUniqueViolation(uniqueViolation, "jobs_pkey")).toBe(false);
  });

  it("is false for other database errors", () => {
    expect(isUniqueViolation(Object.assign(new Error("not null"), { code: "23502" }))).toBe(false);
    expect(isUniqueViolation(undefined)).toBe(false);
  });
});

describe("error classes", () => {
  it("carry a stable code, a name and the cause", () => {
    const cause = new Error("boom");
    const err = new MigrationError("2025-01-01-jobs", 'migration "2025-01-01-jobs" failed: boom', { cause });
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err).toMatchObject({ name: "MigrationError", code: "MIGRATION_FAILED", migration: "2025-01-01-jobs", cause });
    expect(new DatabaseError("LOCKED", "in use")).toMatchObject({ name: "DatabaseError", code: "LOCKED" });
  });
});
