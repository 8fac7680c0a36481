import { z } from "zod";
import { describeValue, expecting, jsonObject, quote, report } from "./common.js";
import {
  MLFLOW_LIMITS,
  aliasNameProblems,
  experimentNameProblems,
  modelNameProblems,
  runIdProblems,
  tagKeyProblems,
} from "./mlflow-rules.js";

/**
 * Zod fields shared by several request bodies. Each one words its own messages (what is
 * wrong and what to send) and documents itself for the OpenAPI document.
 */

/** A string field checked by a rule that returns every problem it finds. */
export function ruledString(what: string, problems: (value: string) => string[]) {
  return z.string({ error: expecting(what) }).superRefine((value, ctx) => {
    for (const p of problems(value)) report(ctx, p);
  });
}

/** `model_name`: a registered-model name by MLflow's rules. */
export const modelNameField = () =>
  ruledString('a string naming the registered model, e.g. "churn-classifier"', modelNameProblems).meta({
    description: "Registered-model name. MLflow's rules apply: not blank, no '/' or ':', not '.' or starting with '..', at most 256 characters.",
    examples: ["churn-classifier"],
  });

/** `experiment_name`: an MLflow experiment name. */
export const experimentNameField = () =>
  ruledString('a string naming the MLflow experiment, e.g. "churn-training"', experimentNameProblems).meta({
    description: "MLflow experiment name; the experiment is created if missing. Not blank, at most 256 characters.",
    examples: ["asgard-automated-training"],
  });

/** `run_id`: an MLflow run id. */
export const runIdField = () =>
  ruledString('the MLflow run id as a string, e.g. "b1a279bbef814cafb8055e2b95d24f7c"', runIdProblems).meta({
    description: "MLflow run id.",
    examples: ["b1a279bbef814cafb8055e2b95d24f7c"],
  });

/** An alias name by MLflow's rules. */
export const aliasNameField = () =>
  ruledString('a string naming the alias, e.g. "champion"', aliasNameProblems).meta({
    description: "Alias name: letters, digits, '_' and '-'; 'latest' and 'v<number>' are reserved by MLflow.",
    examples: ["champion"],
  });

/** Which MLflow entity tags go to, which decides their limits. */
export type TagTarget = "run" | "model_version";

const TAG_LIMITS: Record<TagTarget, { key: number; value: number; count: number }> = {
  run: { key: MLFLOW_LIMITS.runTagKeyChars, value: MLFLOW_LIMITS.runTagValueChars, count: 100 },
  model_version: { key: MLFLOW_LIMITS.modelVersionTagKeyChars, value: MLFLOW_LIMITS.modelVersionTagValueChars, count: 100 },
};

/** A string → string map of MLflow tags, every key and value checked. */
export function tagsField(target: TagTarget) {
  const limits = TAG_LIMITS[target];
  return jsonObject('an object of tag name → string value, e.g. {"version": "1.0"}')
    .superRefine((tags, ctx) => {
      const entries = Object.entries(tags);
      if (entries.length > limits.count) report(ctx, `must have at most ${limits.count} tags; got ${entries.length}`);
      for (const [key, value] of entries) {
        for (const p of tagKeyProblems(key, limits.key)) report(ctx, `tag key ${quote(key, 40)} ${p}`, { path: [key] });
        if (typeof value !== "string") report(ctx, `must be a string (got ${describeValue(value)}); quote numbers, e.g. "1.0"`, { path: [key] });
        else if (value.length > limits.value) report(ctx, `must be at most ${limits.value} characters long (MLflow's limit); got ${value.length}`, { path: [key] });
      }
    })
    .transform((tags) => Object.fromEntries(Object.entries(tags)) as Record<string, string>)
    .meta({
      type: "object",
      propertyNames: { maxLength: limits.key, pattern: "^[\\p{L}\\p{N}_/.\\- :]+$" },
      additionalProperties: { type: "string", maxLength: limits.value },
      maxProperties: limits.count,
    });
}

/** How a client names the model version to use. */
export type ModelVersionRef = { kind: "latest" } | { kind: "version"; version: string } | { kind: "alias"; alias: string };

// MLflow stages, deprecated since 2.9; a client sending one is told about aliases.
const STAGES = new Set(["production", "staging", "archived", "none"]);

/**
 * Reads a model version reference: a version number (`3` or `"3"`), `"latest"` (or null /
 * omitted: the highest READY version), or `"@alias"`. Problems are returned, not thrown.
 */
export function readModelVersionRef(value: unknown): { ok: true; ref: ModelVersionRef } | { ok: false; problem: string } {
  if (value === undefined || value === null) return { ok: true, ref: { kind: "latest" } };
  const hint = 'send a version number ("3"), "latest", or an alias as "@champion"';
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 1 && value <= MLFLOW_LIMITS.maxModelVersion) return { ok: true, ref: { kind: "version", version: String(value) } };
    return { ok: false, problem: `must be a positive whole version number; ${hint}` };
  }
  if (typeof value !== "string") return { ok: false, problem: `must be a string or a number (got ${describeValue(value)}); ${hint}` };
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= MLFLOW_LIMITS.maxModelVersion) return { ok: true, ref: { kind: "version", version: String(n) } };
    return { ok: false, problem: `version ${quote(text)} does not exist: versions start at 1` };
  }
  if (text.toLowerCase() === "latest") return { ok: true, ref: { kind: "latest" } };
  if (text.startsWith("@")) {
    const alias = text.slice(1);
    const problems = aliasNameProblems(alias);
    if (problems.length > 0) return { ok: false, problem: `alias ${quote(alias)} ${problems.join("; ")}` };
    return { ok: true, ref: { kind: "alias", alias } };
  }
  if (STAGES.has(text.toLowerCase())) {
    return { ok: false, problem: `stages such as ${quote(text)} are deprecated in MLflow; point an alias at the version (PUT /mlops/models/{model_name}/aliases/{alias}) and send "@alias"` };
  }
  return { ok: false, problem: `${quote(text)} is not a version; ${hint}` };
}

/** The wire form of a model version reference, normalized (`"3"`, `"@champion"`, or null for latest). */
export function formatModelVersionRef(ref: ModelVersionRef): string | null {
  switch (ref.kind) {
    case "latest":
      return null;
    case "version":
      return ref.version;
    case "alias":
      return `@${ref.alias}`;
  }
}

/** A model version field (`model_version`) that yields a `ModelVersionRef`. */
export function modelVersionRefField() {
  return z
    .unknown()
    .optional()
    .transform((value, ctx) => {
      const read = readModelVersionRef(value);
      if (!read.ok) {
        report(ctx, read.problem);
        return z.NEVER;
      }
      return read.ref;
    })
    .meta({
      anyOf: [{ type: "string" }, { type: "integer", minimum: 1 }, { type: "null" }],
      description: 'Model version: a number ("3" or 3), "latest", or "@alias"; null or omitted means the highest READY version.',
      examples: ["3", "@champion"],
    });
}
