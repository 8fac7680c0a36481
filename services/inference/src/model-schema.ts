import type { FieldIssue, Scalar } from "@asgard/contracts";
import type { InputSpec } from "./model-info.js";

/** A request's inputs in the shape a batch takes them: the model's column order, column-major. */
export interface PreparedInputs {
  /** Column names for the worker, or null when the model takes columns by position. */
  columns: string[] | null;
  values: Scalar[][];
  rows: number;
}

export type Prepared = { ok: true; value: PreparedInputs } | { ok: false; issues: FieldIssue[] };

type Check = (value: Scalar) => boolean;

const isNumberOrNull: Check = (v) => v === null || typeof v === "number";
const isInteger: Check = (v) => typeof v === "number" && Number.isInteger(v);
const isUnsigned: Check = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isBoolean: Check = (v) => typeof v === "boolean";
const isStringOrNull: Check = (v) => v === null || typeof v === "string";
const isAny: Check = () => true;

/**
 * What each MLflow column type accepts from JSON. Null is NaN in a float column (as pandas
 * reads it); integer and boolean columns cannot hold a missing value.
 */
const COLUMN_TYPES: Record<string, { check: Check; expected: string }> = {
  double: { check: isNumberOrNull, expected: "numbers (or null)" },
  float: { check: isNumberOrNull, expected: "numbers (or null)" },
  long: { check: isInteger, expected: "whole numbers" },
  integer: { check: isInteger, expected: "whole numbers" },
  boolean: { check: isBoolean, expected: "true or false" },
  string: { check: isStringOrNull, expected: "strings" },
  binary: { check: isStringOrNull, expected: "strings" },
  datetime: { check: isStringOrNull, expected: 'date-time strings, e.g. "2024-05-01T12:00:00"' },
};

/** The same for a numpy dtype of a tensor signature. */
function dtypeRule(dtype: string): { check: Check; expected: string } {
  if (/^float/.test(dtype)) return { check: isNumberOrNull, expected: "numbers (or null)" };
  if (/^uint/.test(dtype)) return { check: isUnsigned, expected: "non-negative whole numbers" };
  if (/^int/.test(dtype)) return { check: isInteger, expected: "whole numbers" };
  if (dtype === "bool") return { check: isBoolean, expected: "true or false" };
  return { check: isAny, expected: "values" };
}

function describeScalar(v: Scalar): string {
  if (v === null) return "null";
  if (typeof v === "string") return `a string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === "number") return Number.isInteger(v) ? `${v}` : `the fraction ${v}`;
  return `the boolean ${v}`;
}

/** One issue per column naming up to three offending rows. */
function checkColumn(field: string, values: Scalar[], rule: { check: Check; expected: string }, typeName: string): FieldIssue | null {
  const bad: string[] = [];
  let count = 0;
  values.forEach((v, row) => {
    if (rule.check(v)) return;
    count++;
    if (bad.length < 3) bad.push(`row ${row} is ${describeScalar(v)}`);
  });
  if (count === 0) return null;
  const more = count > bad.length ? ` (and ${count - bad.length} more rows)` : "";
  return { field, message: `must hold ${rule.expected} (the model's type: ${typeName}): ${bad.join(", ")}${more}` };
}

const list = (names: readonly string[]) => {
  const shown = names.slice(0, 12).map((n) => JSON.stringify(n)).join(", ");
  return names.length > 12 ? `${shown}, … (${names.length} in all)` : shown;
};

/**
 * Checks a request's columns against what the model takes and puts them in the model's
 * order. Columns are matched by name when the signature (or scikit-learn's feature names)
 * names them; otherwise taken in request order and checked for count and type. Every
 * problem is reported at once, each under `<field>.<column>`.
 */
export function prepareInputs(spec: InputSpec, inputs: Record<string, Scalar[]>, field = "inputs"): Prepared {
  const names = Object.keys(inputs);
  if (names.length === 0) return fail(field, "must name at least one column");
  const rows = (inputs[names[0] as string] as Scalar[]).length;
  const ragged = names.filter((n) => (inputs[n] as Scalar[]).length !== rows);
  if (rows === 0) return fail(field, "must hold at least one row");
  if (ragged.length > 0) return fail(field, `every column must have the same number of values: ${JSON.stringify(names[0])} has ${rows}, ${list(ragged)} differ`);

  switch (spec.kind) {
    case "unsupported":
      return fail(field, `this model cannot be fed columns: ${spec.reason}`);
    case "columns": {
      const named = spec.columns.every((c) => c.name !== null);
      if (!named) {
        const types = spec.columns.map((c) => c.type);
        return positional(field, inputs, names, rows, types.length, (i) => ({ rule: COLUMN_TYPES[types[i] as string] ?? { check: isAny, expected: "values" }, type: types[i] as string }));
      }
      return byName(field, inputs, rows, spec.columns.map((c) => ({ name: c.name as string, type: c.type, required: c.required })));
    }
    case "tensor": {
      if (spec.shape.length === 1) {
        return positional(field, inputs, names, rows, 1, () => ({ rule: dtypeRule(spec.dtype), type: spec.dtype }));
      }
      if (spec.shape.length !== 2) {
        return fail(field, `the model takes a tensor of shape [${spec.shape.join(", ")}]; columns of values can only feed a model taking one row of features per input`);
      }
      const width = spec.shape[1] as number;
      return positional(field, inputs, names, rows, width < 0 ? names.length : width, () => ({ rule: dtypeRule(spec.dtype), type: spec.dtype }));
    }
    case "none": {
      if (spec.feature_names !== null) {
        return byName(field, inputs, rows, spec.feature_names.map((name) => ({ name, type: "any", required: true })));
      }
      const count = spec.n_features ?? names.length;
      const prepared = positional(field, inputs, names, rows, count, () => ({ rule: { check: isAny, expected: "values" }, type: "any" }));
      // Without a signature the request's own names go along (a pyfunc model may use them).
      return prepared.ok ? { ok: true, value: { ...prepared.value, columns: names } } : prepared;
    }
  }
}

function fail(field: string, message: string): Prepared {
  return { ok: false, issues: [{ field, message }] };
}

function byName(field: string, inputs: Record<string, Scalar[]>, rows: number, columns: { name: string; type: string; required: boolean }[]): Prepared {
  const issues: FieldIssue[] = [];
  const expected = new Set(columns.map((c) => c.name));
  const extra = Object.keys(inputs).filter((n) => !expected.has(n));
  for (const name of extra) {
    issues.push({ field: `${field}.${name}`, message: `is not a column of the model; it takes ${list(columns.map((c) => c.name))}` });
  }
  const values: Scalar[][] = [];
  for (const column of columns) {
    const given = Object.hasOwn(inputs, column.name) ? inputs[column.name] : undefined;
    if (given === undefined) {
      if (column.required) issues.push({ field: `${field}.${column.name}`, message: `is missing: the model requires this column (${column.type})` });
      values.push(new Array<Scalar>(rows).fill(null));
      continue;
    }
    const rule = column.type === "any" ? { check: isAny, expected: "values" } : (COLUMN_TYPES[column.type] ?? { check: isAny, expected: "values" });
    const issue = checkColumn(`${field}.${column.name}`, given, rule, column.type);
    if (issue) issues.push(issue);
    values.push(given);
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: { columns: columns.map((c) => c.name), values, rows } };
}

function positional(
  field: string,
  inputs: Record<string, Scalar[]>,
  names: string[],
  rows: number,
  count: number,
  ruleAt: (i: number) => { rule: { check: Check; expected: string }; type: string },
): Prepared {
  if (names.length !== count) {
    const noun = count === 1 ? "column" : "columns";
    return fail(
      field,
      `the model takes ${count} ${noun} by position (its signature names none), in the order they are sent; got ${names.length}: ${list(names)}`,
    );
  }
  const issues: FieldIssue[] = [];
  const values = names.map((name, i) => {
    const column = inputs[name] as Scalar[];
    const { rule, type } = ruleAt(i);
    const issue = checkColumn(`${field}.${name}`, column, rule, type);
    if (issue) issues.push({ ...issue, message: `(position ${i}) ${issue.message}` });
    return column;
  });
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: { columns: null, values, rows } };
}
