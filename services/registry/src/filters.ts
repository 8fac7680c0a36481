/**
 * String literals of MLflow search filters. MLflow's parser takes a value in single or double
 * quotes but has no escape inside them, so a value is quoted with the quote it does not
 * contain; a value holding both cannot be searched for (null).
 */
export function filterLiteral(value: string): string | null {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  return null;
}

/** Version tags the platform sets (users cannot: `asgard.` tag keys are refused at the API). */
export const VERSION_TAGS = {
  /** The training job whose model this version is; the key of idempotent automatic registration. */
  jobId: "asgard.job_id",
  /** `job` or `api`: how the platform registered the version (absent: made elsewhere, e.g. by the script). */
  registeredVia: "asgard.registered_via",
} as const;

/** Filter for the versions tagged with a job id; null when the id cannot be quoted. */
export function jobVersionFilter(jobId: string): string | null {
  const literal = filterLiteral(jobId);
  return literal === null ? null : `tags.\`${VERSION_TAGS.jobId}\` = ${literal}`;
}

/** Filter for the versions registered from a run; null when the id cannot be quoted. */
export function runVersionFilter(runId: string): string | null {
  const literal = filterLiteral(runId);
  return literal === null ? null : `run_id = ${literal}`;
}
