import pg from "pg";
import type { CustomTypesConfig } from "pg";
import type { ParserOptions } from "@electric-sql/pglite";

/*
 * Both dialects must hand back the same JavaScript values, or code tested on PGlite breaks
 * on PostgreSQL. The two drivers disagree in two places and we settle both on strings:
 * - int8 (bigint, count(*)): pg gives strings, PGlite numbers. Strings never lose precision.
 * - date: both give a Date, but pg builds it at local midnight and PGlite at UTC midnight,
 *   so the same row shows different days depending on the TZ. "YYYY-MM-DD" is unambiguous.
 * Everything else (timestamptz → Date, json → parsed, numeric → string, int4 → number,
 * bytea → Uint8Array/Buffer) already matches.
 */
const INT8 = 20;
const DATE = 1082;
const DATE_ARRAY = 1182;
const TEXT_ARRAY = 1009;

const asText = (value: string): string => value;

// pg's typings only list element type ids; array ids such as text[] work all the same.
const getDefault = pg.types.getTypeParser as (oid: number, format: "text" | "binary") => (value: string) => unknown;

/** Parsers for PGlite; it derives array parsers from the element parsers itself. */
export const pgliteParsers: ParserOptions = { [INT8]: asText, [DATE]: asText };

/** Type parsers for one pg pool, leaving pg's process-wide defaults untouched. */
export const pgTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === DATE) return asText;
    if (oid === DATE_ARRAY) return getDefault(TEXT_ARRAY, "text");
    return getDefault(oid, format ?? "text");
  }) as CustomTypesConfig["getTypeParser"],
};
