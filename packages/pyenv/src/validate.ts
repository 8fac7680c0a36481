import { PyEnvError } from "./errors.js";

/**
 * Strict PEP 508 check of requirement strings, the same language the upload API accepts:
 * a name, optional extras, optional version specifiers (`==`, `!=`, `<=`, `>=`, `<`, `>`,
 * `~=`, `===`; `.*` only after `==`/`!=`; optionally in parentheses) and an optional
 * environment marker in a restricted grammar (marker variable compared with a quoted
 * string, joined by and/or, no parentheses).
 *
 * Requirements reach uv as lines of a requirements file on stdin, where `-r`, `-c`,
 * `--index-url`, `name @ url`, paths and `${VAR}` all mean something. Everything outside the
 * grammar is refused, so none of those forms can get through; the named checks first only
 * give a clearer reason.
 */

/** Longest requirement string accepted (as in the upload API). */
export const MAX_REQUIREMENT_CHARS = 200;

const NAME = String.raw`[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`;
const HEAD = new RegExp(String.raw`^(${NAME})\s*(?:\[\s*(${NAME}(?:\s*,\s*${NAME})*)?\s*\])?\s*(.*)$`, "s");

const RELEASE = String.raw`v?(?:\d+!)?\d+(?:\.\d+)*`;
const PRE = String.raw`(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?\d*)?`;
const POST = String.raw`(?:-\d+|[-_.]?(?:post|rev|r)[-_.]?\d*)?`;
const DEV = String.raw`(?:[-_.]?dev[-_.]?\d*)?`;
const LOCAL = String.raw`(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?`;

/** Version patterns per operator, as `packaging.specifiers.Specifier` reads them. */
const VERSION_BY_OP: Record<string, RegExp> = {
  "==": new RegExp(`^(?:${RELEASE}\\.\\*|${RELEASE}${PRE}${POST}${DEV}${LOCAL})$`, "i"),
  "!=": new RegExp(`^(?:${RELEASE}\\.\\*|${RELEASE}${PRE}${POST}${DEV}${LOCAL})$`, "i"),
  "~=": new RegExp(String.raw`^v?(?:\d+!)?\d+(?:\.\d+)+` + `${PRE}${POST}${DEV}$`, "i"),
  "<=": new RegExp(`^${RELEASE}${PRE}${POST}${DEV}$`, "i"),
  ">=": new RegExp(`^${RELEASE}${PRE}${POST}${DEV}$`, "i"),
  "<": new RegExp(`^${RELEASE}${PRE}${POST}${DEV}$`, "i"),
  ">": new RegExp(`^${RELEASE}${PRE}${POST}${DEV}$`, "i"),
  "===": /^[A-Za-z0-9._+!-]+$/,
};
const SPECIFIER = /^(===|~=|==|!=|<=|>=|<|>)\s*(\S+)$/;

const MARKER_VAR = [
  "python_version",
  "python_full_version",
  "os_name",
  "sys_platform",
  "platform_release",
  "platform_system",
  "platform_version",
  "platform_machine",
  "platform_python_implementation",
  "implementation_name",
  "implementation_version",
  "extra",
].join("|");
const MARKER_STR = `"[A-Za-z0-9 ._*+!-]*"|'[A-Za-z0-9 ._*+!-]*'`;
// Word operators need a separator on both sides, so `python_versionin"3"` is not read as `in`.
const WORD_BOUNDARY_BEFORE = `(?<=[\\s"'])`;
const WORD_BOUNDARY_AFTER = `(?=[\\s"'])`;
const MARKER_OP = `===|==|!=|<=|>=|~=|<|>|${WORD_BOUNDARY_BEFORE}(?:not\\s+in|in)${WORD_BOUNDARY_AFTER}`;
const MARKER_COND = `(?:(?:${MARKER_VAR})\\s*(?:${MARKER_OP})\\s*(?:${MARKER_STR})|(?:${MARKER_STR})\\s*(?:${MARKER_OP})\\s*(?:${MARKER_VAR}))`;
const MARKER = new RegExp(
  `^\\s*${MARKER_COND}(?:\\s*${WORD_BOUNDARY_BEFORE}(?:and|or)${WORD_BOUNDARY_AFTER}\\s*${MARKER_COND})*\\s*$`,
);
const MARKER_TOKEN = /"[^"]*"|'[^']*'|===|==|!=|<=|>=|~=|<|>|[A-Za-z_]+/g;

/** PEP 503 normalization: case-folded, runs of `-`, `_`, `.` become one `-`. */
export function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

export type RequirementCheck = { ok: true; canonical: string; name: string } | { ok: false; problem: string };

/** Reasons given before the grammar is read, for the forms that try to reach files, indexes or the environment. */
function forbiddenForm(text: string): string | null {
  if (/[\r\n]/.test(text)) return "must be a single line";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return "must not contain control characters";
  if (text.startsWith("-")) return "pip options (-r, -c, -e, --index-url, …) are not accepted";
  if (text.includes("://") || text.includes("@")) return "URLs and direct references (name @ url) are not accepted";
  if (/^file:/i.test(text) || /[/\\]/.test(text) || text.startsWith(".") || text.startsWith("~")) {
    return "paths and file: references are not accepted";
  }
  if (text.includes("$")) return "$ is not accepted (no variable expansion)";
  if (text.includes("#")) return "comments (#) are not accepted";
  return null;
}

function specifiers(raw: string): string[] | string {
  let body = raw.trim();
  if (body === "") return [];
  if (body.startsWith("(")) {
    if (!body.endsWith(")")) return "unbalanced parenthesis in the version specifiers";
    body = body.slice(1, -1).trim();
    if (body === "") return "empty parentheses";
  }
  const out: string[] = [];
  for (const part of body.split(",")) {
    const m = SPECIFIER.exec(part.trim());
    const op = m?.[1];
    const version = m?.[2];
    if (op === undefined || version === undefined) return `${JSON.stringify(part.trim())} is not a version specifier`;
    if (!VERSION_BY_OP[op]?.test(version)) return `${JSON.stringify(version)} is not a valid version after ${op}`;
    out.push(`${op}${version}`);
  }
  return out;
}

/**
 * Checks one requirement and returns its canonical form: PEP 503 name, sorted extras,
 * specifiers without spaces (sorted), marker tokens joined by single spaces with double
 * quotes. Equivalent spellings get the same canonical form, which is what the cache key hashes
 * and what uv is given.
 */
export function checkRequirement(raw: string): RequirementCheck {
  const text = raw.trim();
  if (text === "") return { ok: false, problem: "is empty" };
  if (text.length > MAX_REQUIREMENT_CHARS) return { ok: false, problem: `is longer than ${MAX_REQUIREMENT_CHARS} characters` };
  const forbidden = forbiddenForm(text);
  if (forbidden) return { ok: false, problem: forbidden };

  const semicolon = text.indexOf(";");
  const head = semicolon >= 0 ? text.slice(0, semicolon) : text;
  const marker = semicolon >= 0 ? text.slice(semicolon + 1) : null;

  const m = HEAD.exec(head.trim());
  const name = m?.[1];
  if (!m || name === undefined) return { ok: false, problem: "must be a package name with optional [extras] and version specifiers" };
  if ((m[3] ?? "").startsWith("[")) return { ok: false, problem: "extras must be names in [brackets], e.g. uvicorn[standard]" };
  const specs = specifiers(m[3] ?? "");
  if (typeof specs === "string") return { ok: false, problem: specs };
  if (marker !== null && !MARKER.test(marker)) {
    return { ok: false, problem: 'the environment marker must compare marker variables with quoted strings, e.g. python_version >= "3.10"' };
  }

  const normalized = normalizePackageName(name);
  const extras = [...new Set((m[2] ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "").map(normalizePackageName))].sort();
  let canonical = normalized + (extras.length > 0 ? `[${extras.join(",")}]` : "") + [...new Set(specs)].sort().join(",");
  if (marker !== null) {
    const tokens = (marker.match(MARKER_TOKEN) ?? []).map((t) => (t.startsWith("'") ? `"${t.slice(1, -1)}"` : t));
    canonical += `; ${tokens.join(" ")}`;
  }
  return { ok: true, canonical, name: normalized };
}

/**
 * Validates every entry and returns the normalized request: canonical forms, sorted,
 * de-duplicated. Throws INVALID_REQUIREMENT naming each refused entry (by position and value).
 */
export function normalizeRequirements(requirements: readonly string[], what = "requirement"): string[] {
  const problems: string[] = [];
  const out = new Set<string>();
  requirements.forEach((raw, i) => {
    const result = typeof raw === "string" ? checkRequirement(raw) : ({ ok: false, problem: "must be a string" } as const);
    if (result.ok) out.add(result.canonical);
    else problems.push(`${what} ${i + 1} (${JSON.stringify(String(raw).slice(0, 80))}) ${result.problem}`);
  });
  if (problems.length > 0) {
    throw new PyEnvError("INVALID_REQUIREMENT", problems.join("; "), { output: problems.join("\n") });
  }
  return [...out].sort();
}
