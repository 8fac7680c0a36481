import { sql, type RawBuilder } from "kysely";

/**
 * A value for a jsonb column. pg would send a JS array as a PostgreSQL array literal, so
 * values go as JSON text and are cast; SQL NULL stays NULL (not the JSON `null`).
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return sql<T>`cast(${JSON.stringify(value)} as jsonb)`;
}

export function jsonbOrNull<T>(value: T | null): RawBuilder<T> | null {
  return value === null ? null : jsonb(value);
}
