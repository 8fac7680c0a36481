import { CONTROL_CHARS, quote } from "./common.js";

/**
 * MLflow's naming rules and limits, checked at our edge so that a bad name fails the
 * request with a clear message instead of failing a job minutes later. Each rule names
 * where it comes from in MLflow 3.17: `mlflow/utils/validation.py` unless stated, and the
 * column sizes of the SQL store's `dbmodels/models.py` files, which a PostgreSQL backend
 * enforces even where `validation.py` allows more.
 */
export const MLFLOW_LIMITS = {
  /** validation.py allows 500 (MAX_EXPERIMENT_NAME_LENGTH) but the `experiments.name` column is String(256). */
  experimentNameChars: 256,
  /** `registered_models.name` is String(256); validation.py sets no length. */
  modelNameChars: 256,
  /** MAX_ENTITY_KEY_LENGTH; `tags.key` is String(250). */
  runTagKeyChars: 250,
  /** MAX_TAG_VAL_LENGTH; `tags.value` is String(8000). */
  runTagValueChars: 8000,
  /** MAX_MODEL_REGISTRY_TAG_KEY_LENGTH; `model_version_tags.key` is String(250). */
  modelVersionTagKeyChars: 250,
  /** MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH (`model_version_tags.value` is Text). */
  modelVersionTagValueChars: 100_000,
  /** `model_versions.description` is String(5000). */
  modelVersionDescriptionChars: 5000,
  /** MAX_REGISTERED_MODEL_ALIAS_LENGTH. */
  aliasChars: 255,
  /** SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD (mlflow/store/model_registry/__init__.py). */
  searchModelsMaxResults: 1000,
  /** `model_versions.version` is an Integer column. */
  maxModelVersion: 2_147_483_647,
} as const;

/**
 * Python's `posixpath.normpath`, which MLflow's `path_not_unique` compares names against
 * (Node's `path.posix.normalize` differs: it keeps trailing slashes and treats `//` alike).
 */
export function pythonNormpath(path: string): string {
  if (path === "") return ".";
  const leading = path.startsWith("/") ? (path.startsWith("//") && !path.startsWith("///") ? 2 : 1) : 0;
  const parts: string[] = [];
  for (const comp of path.split("/")) {
    if (comp === "" || comp === ".") continue;
    if (comp !== ".." || (leading === 0 && parts.length === 0) || parts[parts.length - 1] === "..") parts.push(comp);
    else if (parts.length > 0) parts.pop();
  }
  const joined = "/".repeat(leading) + parts.join("/");
  return joined === "" ? "." : joined;
}

/** validation.py `path_not_unique`: the name would resolve to another name as a file path. */
export function pathNotUnique(name: string): boolean {
  const norm = pythonNormpath(name);
  return norm !== name || norm === "." || norm.startsWith("..") || norm.startsWith("/");
}

/**
 * Registered-model name, from `_validate_model_name`: not empty or blank (`name.strip() == ""`),
 * no `/` or `:` ("Names cannot contain '/' or ':'"), and not `path_not_unique` (so not `.`,
 * not starting with `..`). Plus the 256-character column, and — our rule — no control
 * characters, since the name travels in URLs, logs and headers.
 */
export function modelNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.trim() === "") {
    problems.push('must not be empty or blank: name the registered model, e.g. "churn-classifier"');
    return problems;
  }
  if (name.includes("/") || name.includes(":")) problems.push(`must not contain '/' or ':' (an MLflow rule); got ${quote(name)}`);
  else if (pathNotUnique(name)) problems.push(`must not be "." or start with ".." (MLflow treats names as paths); got ${quote(name)}`);
  if (CONTROL_CHARS.test(name)) problems.push("must not contain control characters (line breaks, tabs, NUL)");
  if (name.length > MLFLOW_LIMITS.modelNameChars) problems.push(`must be at most ${MLFLOW_LIMITS.modelNameChars} characters long (MLflow's limit); got ${name.length}`);
  return problems;
}

/**
 * Experiment name, from `_validate_experiment_name` (not empty) and the 256-character column.
 * Blank names and control characters are refused too (our rule: they are never intended).
 */
export function experimentNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.trim() === "") {
    problems.push('must not be empty or blank: name the MLflow experiment, e.g. "churn-training"');
    return problems;
  }
  if (CONTROL_CHARS.test(name)) problems.push("must not contain control characters (line breaks, tabs, NUL)");
  if (name.length > MLFLOW_LIMITS.experimentNameChars) problems.push(`must be at most ${MLFLOW_LIMITS.experimentNameChars} characters long (MLflow's limit); got ${name.length}`);
  return problems;
}

// Python's `\w` on str is Unicode-aware (letters and digits of any script, and `_`).
const TAG_KEY_CHARS = /^[\p{L}\p{N}_/.\- :]*$/u;

/**
 * Tag key, from `_validate_tag_name` on a POSIX server: only alphanumerics, `_`, `-`, `.`,
 * space, `:` and `/` (regex `^[/\w.\- :]*$`), and not `path_not_unique` (so not empty, no
 * `..` segments, no leading or doubled `/`). Keys starting with `mlflow.` are MLflow's own
 * system tags; `asgard.` keys are the platform's (job id, attempt) — both are refused.
 */
export function tagKeyProblems(key: string, maxChars: number): string[] {
  const problems: string[] = [];
  if (key === "") return ["must not be empty"];
  if (!TAG_KEY_CHARS.test(key)) problems.push("may only contain letters, digits, underscores (_), dashes (-), periods (.), spaces, colons (:) and slashes (/) (an MLflow rule)");
  else if (pathNotUnique(key)) problems.push(`must not start with "/" or contain empty, "." or ".." path segments (an MLflow rule; it would resolve to ${quote(pythonNormpath(key))})`);
  const lower = key.toLowerCase();
  if (lower.startsWith("mlflow.")) problems.push('must not start with "mlflow.": those tags are reserved by MLflow');
  if (lower.startsWith("asgard.")) problems.push('must not start with "asgard.": those tags are set by the platform');
  if (key.length > maxChars) problems.push(`must be at most ${maxChars} characters long (MLflow's limit); got ${key.length}`);
  return problems;
}

// `_REGISTERED_MODEL_ALIAS_REGEX = ^[\w\-]*$`; Python's `$` would also let a trailing newline through — we do not.
const ALIAS_CHARS = /^[\p{L}\p{N}_-]+$/u;
// `_REGISTERED_MODEL_ALIAS_VERSION_REGEX = ^[vV]\d+$`: `v3` means "version 3" in MLflow URIs.
const VERSION_ALIAS = /^[vV]\p{Nd}+$/u;

/**
 * Alias name, from `_validate_model_alias_name` (not empty; alphanumerics, `_`, `-`; at most
 * 255 characters) and `_validate_model_alias_name_reserved` (`latest` in any case and
 * `v<digits>` are reserved).
 */
export function aliasNameProblems(alias: string): string[] {
  if (alias === "") return ['must not be empty: name the alias, e.g. "champion"'];
  const problems: string[] = [];
  if (!ALIAS_CHARS.test(alias)) problems.push(`may only contain letters, digits, underscores (_) and dashes (-) (an MLflow rule); got ${quote(alias)}`);
  if (alias.toLowerCase() === "latest") problems.push('"latest" is reserved by MLflow (it always means the newest version); choose another alias');
  if (VERSION_ALIAS.test(alias)) problems.push(`${quote(alias)} is reserved by MLflow (v<number> names a version); choose another alias`);
  if (alias.length > MLFLOW_LIMITS.aliasChars) problems.push(`must be at most ${MLFLOW_LIMITS.aliasChars} characters long (MLflow's limit); got ${alias.length}`);
  return problems;
}

// `_RUN_ID_REGEX = ^[a-zA-Z0-9][\w\-]{0,255}$`; run ids MLflow makes are 32 hex digits.
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;

/** Run id, from `_validate_run_id`. */
export function runIdProblems(runId: string): string[] {
  if (runId === "") return ['must not be empty: send the MLflow run id, e.g. "b1a279bbef814cafb8055e2b95d24f7c"'];
  if (!RUN_ID.test(runId)) return [`is not an MLflow run id (letters, digits, "_" and "-", starting with a letter or digit, at most 256 characters); got ${quote(runId)}`];
  return [];
}
