import type { FieldIssue, InvocationFormat, Scalar } from "@asgard/contracts";
import type { InputSpec } from "./model-info.js";

export type Columns = { ok: true; inputs: Record<string, Scalar[]> } | { ok: false; issues: FieldIssue[] };

const isScalar = (v: unknown): v is Scalar => v === null || typeof v === "number" || typeof v === "string" || typeof v === "boolean";
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Names for columns sent by position (rows as lists): the model's own column names when it
 * has them — MLflow's scoring server builds its DataFrame the same way — else "0", "1", …
 */
function positionalNames(spec: InputSpec, width: number): string[] {
  if (spec.kind === "columns" && spec.columns.length === width && spec.columns.every((c) => c.name !== null)) {
    return spec.columns.map((c) => c.name as string);
  }
  if (spec.kind === "none" && spec.feature_names !== null && spec.feature_names.length === width) return spec.feature_names;
  return Array.from({ length: width }, (_, i) => String(i));
}

/**
 * Turns one of MLflow's scoring bodies into columns of values, as `mlflow models serve`
 * reads them: `dataframe_split` (columns + rows), `dataframe_records` (one object per row),
 * and `instances` / `inputs` (rows as lists or objects, one column as a list of values, or
 * an object of column → values). Only tabular data is accepted: a value inside a cell must
 * be a number, string, boolean or null.
 */
export function invocationColumns(format: InvocationFormat, data: unknown, spec: InputSpec): Columns {
  switch (format) {
    case "dataframe_split":
      return fromSplit(data);
    case "dataframe_records":
      return fromRecords(data, format);
    case "instances":
    case "inputs":
      return fromTensorForm(data, format, spec);
  }
}

function issue(field: string, message: string): Columns {
  return { ok: false, issues: [{ field, message }] };
}

function fromSplit(data: unknown): Columns {
  if (!isRecord(data) || !Array.isArray(data.columns) || !Array.isArray(data.data)) {
    return issue("dataframe_split", 'must be {"columns": [...], "data": [[...], ...]}');
  }
  const columns = data.columns as unknown[];
  const rows = data.data as unknown[];
  if (rows.length === 0) return issue("dataframe_split.data", "has no rows");
  const names = columns.map(String);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) return issue("dataframe_split.columns", `names ${JSON.stringify(dup)} twice`);
  const out: Record<string, Scalar[]> = Object.fromEntries(names.map((n) => [n, [] as Scalar[]]));
  const issues: FieldIssue[] = [];
  rows.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== names.length) {
      issues.push({ field: `dataframe_split.data.${r}`, message: `must be a list of ${names.length} values, one per column` });
      return;
    }
    row.forEach((v: unknown, c) => {
      if (isScalar(v)) (out[names[c] as string] as Scalar[]).push(v);
      else issues.push({ field: `dataframe_split.data.${r}.${c}`, message: "must be a number, string, boolean or null" });
    });
  });
  return issues.length > 0 ? { ok: false, issues: issues.slice(0, 100) } : { ok: true, inputs: out };
}

/** Rows as objects; a key missing in a row is null there (pandas reads it as NaN/None). */
function fromRecords(data: unknown, field: string): Columns {
  if (!Array.isArray(data) || data.length === 0) return issue(field, "must be a non-empty list of records (objects of column → value)");
  const names: string[] = [];
  const seen = new Set<string>();
  const issues: FieldIssue[] = [];
  data.forEach((row: unknown, r) => {
    if (!isRecord(row)) {
      issues.push({ field: `${field}.${r}`, message: "must be an object of column → value" });
      return;
    }
    for (const key of Object.keys(row)) {
      if (!seen.has(key)) {
        seen.add(key);
        names.push(key);
      }
    }
  });
  if (issues.length > 0) return { ok: false, issues: issues.slice(0, 100) };
  const out: Record<string, Scalar[]> = Object.fromEntries(names.map((n) => [n, [] as Scalar[]]));
  (data as Record<string, unknown>[]).forEach((row, r) => {
    for (const name of names) {
      const v = Object.hasOwn(row, name) ? row[name] : null;
      if (isScalar(v)) (out[name] as Scalar[]).push(v);
      else if (issues.length < 100) issues.push({ field: `${field}.${r}.${name}`, message: "must be a number, string, boolean or null" });
    }
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, inputs: out };
}

function fromTensorForm(data: unknown, field: string, spec: InputSpec): Columns {
  if (isRecord(data)) return fromColumnObject(data, field);
  if (!Array.isArray(data) || data.length === 0) return issue(field, "must be a non-empty list of rows, or an object of column → values");
  if (data.every(isRecord)) return fromRecords(data, field);
  if (data.every(isScalar)) {
    const [name] = positionalNames(spec, 1);
    return { ok: true, inputs: { [name as string]: data } };
  }
  if (!data.every(Array.isArray)) return issue(field, "must hold rows of one kind: all lists, all objects, or all single values");
  const rows = data as unknown[][];
  const width = (rows[0] as unknown[]).length;
  const names = positionalNames(spec, width);
  const out: Record<string, Scalar[]> = Object.fromEntries(names.map((n) => [n, [] as Scalar[]]));
  const issues: FieldIssue[] = [];
  rows.forEach((row, r) => {
    if (row.length !== width) {
      issues.push({ field: `${field}.${r}`, message: `has ${row.length} values; the first row has ${width} (rows must all be the same length)` });
      return;
    }
    row.forEach((v, c) => {
      if (isScalar(v)) (out[names[c] as string] as Scalar[]).push(v);
      else issues.push({ field: `${field}.${r}.${c}`, message: "must be a number, string, boolean or null (nested values are not tabular)" });
    });
  });
  return issues.length > 0 ? { ok: false, issues: issues.slice(0, 100) } : { ok: true, inputs: out };
}

/** `{"a": [1, 2], "b": [3, 4]}` (columns), or `{"a": 1, "b": 3}` (one row). */
function fromColumnObject(data: Record<string, unknown>, field: string): Columns {
  const names = Object.keys(data);
  if (names.length === 0) return issue(field, "names no columns");
  const out: Record<string, Scalar[]> = {};
  const issues: FieldIssue[] = [];
  for (const name of names) {
    const value = data[name];
    const column = Array.isArray(value) ? value : [value];
    if (!column.every(isScalar)) {
      issues.push({ field: `${field}.${name}`, message: "must be a value or a list of values (numbers, strings, booleans or null)" });
      continue;
    }
    out[name] = column;
  }
  if (issues.length > 0) return { ok: false, issues };
  const lengths = new Set(Object.values(out).map((c) => c.length));
  if (lengths.size > 1) return issue(field, "every column must have the same number of values");
  return { ok: true, inputs: out };
}
