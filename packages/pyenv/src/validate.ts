import { checkRequirement, normalizePackageName } from "@asgard/contracts";
import { PyEnvError } from "./errors.js";

/**
 * Requirements reach uv as lines of a requirements file on stdin, where `-r`, `-c`,
 * `--index-url`, `name @ url`, paths and `${VAR}` all mean something. They are read with the
 * one strict PEP 508 parser of the upload API (`@asgard/contracts`), which refuses all of
 * those forms and gives each accepted requirement its canonical form.
 */
export { checkRequirement, normalizePackageName, MAX_REQUIREMENT_CHARS } from "@asgard/contracts";

/**
 * Validates every entry and returns the normalized request: canonical forms, sorted,
 * de-duplicated. Throws INVALID_REQUIREMENT naming each refused entry (by position and value).
 */
export function normalizeRequirements(requirements: readonly string[], what = "requirement"): string[] {
  const problems: string[] = [];
  const out = new Set<string>();
  requirements.forEach((raw, i) => {
    const result = typeof raw === "string" ? checkRequirement(raw) : ({ ok: false, problems: ["must be a string"] } as const);
    if (result.ok) out.add(result.requirement.canonical);
    else problems.push(`${what} ${i + 1} (${JSON.stringify(String(raw).slice(0, 80))}) ${result.problems.join("; ")}`);
  });
  if (problems.length > 0) {
    throw new PyEnvError("INVALID_REQUIREMENT", problems.join("; "), { output: problems.join("\n") });
  }
  return [...out].sort();
}

/** The PEP 503 name of a bare package name (no extras, versions or marker), or null. */
export function bareName(raw: string): string | null {
  const check = checkRequirement(raw);
  return check.ok && check.requirement.canonical === check.requirement.normalizedName ? normalizePackageName(check.requirement.name) : null;
}
