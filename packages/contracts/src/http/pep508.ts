import { CONTROL_CHARS, quote } from "./common.js";

/**
 * A strict reading of PEP 508 requirements for user-supplied `requirements`.
 *
 * Accepted: a package name, optional extras (`[a,b]`), optional version specifiers
 * (`==`, `!=`, `<=`, `>=`, `<`, `>`, `~=`, `===`, comma-separated, optionally in
 * parentheses; `.*` wildcards only after `==`/`!=`), and an optional environment marker
 * after `;` in a restricted grammar: comparisons of a marker variable with a quoted
 * string, joined by `and`/`or`, without parentheses. The restriction keeps the grammar
 * small enough to check completely; every marker pip understands that uses parentheses
 * can be split into several entries.
 *
 * Refused outright, whatever PEP 508 says: pip options (`-r`, `-e`, `--index-url`), URLs
 * and direct references (`name @ url`), paths and `file:`, `$` (variable expansion in
 * requirement files), `#` comments and line breaks. These are the ways a requirement
 * reaches files, indexes or the environment of the build instead of naming a package.
 */

/** A requirement that passed the checks. */
export interface Requirement {
  /** The requirement as given, without surrounding whitespace. */
  readonly text: string;
  /** The package name as written. */
  readonly name: string;
  /** PEP 503 normalized name (`Scikit_Learn` → `scikit-learn`), for duplicate detection. */
  readonly normalizedName: string;
  /** Whether the requirement carries an environment marker. */
  readonly hasMarker: boolean;
}

/** Result of `checkRequirement`. */
export type RequirementCheck = { ok: true; requirement: Requirement } | { ok: false; problems: string[] };

/** Longest requirement string accepted. */
export const MAX_REQUIREMENT_CHARS = 200;

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const HEAD = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(.*)$/s;

const RELEASE = String.raw`v?(?:\d+!)?\d+(?:\.\d+)*`;
const PRE = String.raw`(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?\d*)?`;
const POST = String.raw`(?:-\d+|[-_.]?(?:post|rev|r)[-_.]?\d*)?`;
const DEV = String.raw`(?:[-_.]?dev[-_.]?\d*)?`;
const LOCAL = String.raw`(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?`;

// Per operator, as in `packaging.specifiers.Specifier`: wildcards only after ==/!=, local
// versions only after ==/!=/===, and ~= needs at least two release segments.
const EQ_VERSION = new RegExp(`^(?:${RELEASE}\\.\\*|${RELEASE}${PRE}${POST}${DEV}${LOCAL})$`, "i");
const COMPATIBLE_VERSION = new RegExp(String.raw`^v?(?:\d+!)?\d+(?:\.\d+)+` + `${PRE}${POST}${DEV}$`, "i");
const ORDERED_VERSION = new RegExp(`^${RELEASE}${PRE}${POST}${DEV}$`, "i");
const ARBITRARY_VERSION = /^[A-Za-z0-9._+!-]+$/;
const SPECIFIER = /^(===|~=|==|!=|<=|>=|<|>)\s*(.*)$/s;

const MARKER_VARIABLES = new Set([
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
]);
const MARKER_STRING_CHARS = /^[A-Za-z0-9 ._*+!-]*$/;
const MARKER_TOKEN = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|("[^"]*"|'[^']*')|(===|==|!=|<=|>=|~=|<|>)|([()]))/y;

const EXAMPLES = '"scikit-learn", "pandas>=2", "numpy==2.1.*"';

/** PEP 503 normalization: case-folded, runs of `-`, `_`, `.` become one `-`. */
export function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** Reasons a requirement is refused before its grammar is even read, each with its fix. */
function forbiddenForms(text: string): string[] {
  const problems: string[] = [];
  if (/[\r\n]/.test(text)) problems.push("must be a single line: put each requirement in its own array entry");
  else if (CONTROL_CHARS.test(text)) problems.push("must not contain control characters (tabs, NUL, …)");
  if (text.startsWith("-")) problems.push("pip options (-r, -e, -c, --index-url, …) are not accepted: list package names only; the package index is the platform's");
  if (text.includes("://") || text.includes("@")) problems.push(`URLs and direct references ("name @ url") are not accepted: name a package from the index, e.g. ${EXAMPLES}`);
  if (/^file:/i.test(text) || text.includes("/") || text.includes("\\") || text.startsWith(".") || text.startsWith("~")) {
    problems.push("paths and file: references are not accepted: name a package from the index");
  }
  if (text.includes("$")) problems.push("$ is not accepted (no variable expansion in requirements)");
  if (text.includes("#")) problems.push("comments (#) are not accepted");
  return problems;
}

function versionProblem(op: string, version: string): string | null {
  if (version === "") return `${op} must be followed by a version, e.g. ${op}2.0`;
  if (/\s/.test(version)) return `${quote(`${op}${version}`)}: a version must not contain spaces; separate constraints with commas`;
  switch (op) {
    case "==":
    case "!=":
      return EQ_VERSION.test(version) ? null : `${quote(version)} is not a valid version (e.g. 2, 2.1.0, 2.1rc1, 2.1.*)`;
    case "~=":
      if (version.includes("*")) return "wildcards (.*) are only allowed after == or !=, e.g. \"numpy==2.1.*\"";
      if (version.includes("+")) return "local versions (+…) are only allowed after ==, != or ===";
      if (ORDERED_VERSION.test(version) && !COMPATIBLE_VERSION.test(version)) return `~= needs at least two version parts, e.g. ~=${version}.0`;
      return COMPATIBLE_VERSION.test(version) ? null : `${quote(version)} is not a valid version (e.g. 2.1, 2.1.0)`;
    case "===":
      return ARBITRARY_VERSION.test(version) ? null : `${quote(version)} is not accepted after === (letters, digits and . _ + ! - only)`;
    default:
      if (version.includes("*")) return `wildcards (.*) are only allowed after == or !=, e.g. "numpy==2.1.*" (not ${op}${version})`;
      if (version.includes("+")) return "local versions (+…) are only allowed after ==, != or ===";
      return ORDERED_VERSION.test(version) ? null : `${quote(version)} is not a valid version (e.g. 2, 2.1.0, 2.1rc1)`;
  }
}

function specifierProblems(spec: string): string[] {
  let body = spec.trim();
  if (body === "") return [];
  if (body.startsWith("(")) {
    if (!body.endsWith(")")) return ["an opening ( of the version constraints is not closed"];
    body = body.slice(1, -1).trim();
    if (body === "") return ["the parentheses hold no version constraint"];
  }
  const problems: string[] = [];
  for (const part of body.split(",")) {
    const item = part.trim();
    if (item === "") {
      problems.push("has an empty version constraint between commas");
      continue;
    }
    const m = SPECIFIER.exec(item);
    if (!m) {
      const hint = item.startsWith("=") ? ' (use "==" for an exact version)' : "";
      problems.push(`${quote(item)} is not a version constraint${hint}: use an operator and a version, e.g. ">=2.0" or "==2.1.*"`);
      continue;
    }
    const problem = versionProblem(m[1] ?? "", (m[2] ?? "").trim());
    if (problem) problems.push(problem);
  }
  return problems;
}

type MarkerToken = { kind: "var" | "str" | "op" | "and_or"; text: string };

function markerProblems(marker: string): string[] {
  const source = marker.trim();
  if (source === "") return ['a ";" must be followed by an environment marker, e.g. python_version >= "3.10"'];
  const tokens: MarkerToken[] = [];
  MARKER_TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < source.length) {
    MARKER_TOKEN.lastIndex = pos;
    const m = MARKER_TOKEN.exec(source);
    if (!m) return [`the environment marker is not understood near ${quote(source.slice(pos), 20)}: write e.g. python_version >= "3.10"`];
    pos = MARKER_TOKEN.lastIndex;
    const [, word, str, op, paren] = m;
    if (paren) return ["parentheses in environment markers are not supported: join conditions with and/or, or split the requirement into several entries"];
    if (str !== undefined) {
      if (!MARKER_STRING_CHARS.test(str.slice(1, -1))) return [`marker value ${quote(str)} may only contain letters, digits, spaces and . _ * + ! -`];
      tokens.push({ kind: "str", text: str });
    } else if (op !== undefined) tokens.push({ kind: "op", text: op });
    else if (word !== undefined) {
      if (word === "and" || word === "or") tokens.push({ kind: "and_or", text: word });
      else if (word === "in") tokens.push({ kind: "op", text: "in" });
      else if (word === "not") {
        const last = tokens[tokens.length - 1];
        if (last?.kind === "op") return ['"not" must be followed by "in"'];
        tokens.push({ kind: "op", text: "not" });
      } else if (MARKER_VARIABLES.has(word)) tokens.push({ kind: "var", text: word });
      else return [`${quote(word)} is not an environment marker variable (e.g. python_version, sys_platform, platform_machine)`];
    }
  }
  // Fold "not" "in" into one operator.
  const folded: MarkerToken[] = [];
  for (const t of tokens) {
    const prev = folded[folded.length - 1];
    if (t.kind === "op" && t.text === "in" && prev?.kind === "op" && prev.text === "not") prev.text = "not in";
    else folded.push({ ...t });
  }
  if (folded.some((t) => t.kind === "op" && t.text === "not")) return ['"not" must be followed by "in"'];
  // expr (and_or expr)*, expr = operand op operand with one variable and one string.
  for (let i = 0; i < folded.length; i += 4) {
    const [a, op, b] = [folded[i], folded[i + 1], folded[i + 2]];
    if (!a || !op || !b || op.kind !== "op" || a.kind === "op" || a.kind === "and_or" || b.kind === "op" || b.kind === "and_or" || a.kind === b.kind) {
      return ['each marker condition must compare a variable with a quoted string, e.g. python_version >= "3.10" and sys_platform == "linux"'];
    }
    const next = folded[i + 3];
    if (next !== undefined && next.kind !== "and_or") return ["marker conditions must be joined with and/or"];
    if (next !== undefined && folded[i + 4] === undefined) return [`the marker must not end with "${next.text}"`];
  }
  return [];
}

/** Checks one requirement string; on failure every problem found is returned. */
export function checkRequirement(raw: string): RequirementCheck {
  const text = raw.trim();
  if (text === "") return { ok: false, problems: [`is empty: remove the entry or name a package, e.g. ${EXAMPLES}`] };
  if (text.length > MAX_REQUIREMENT_CHARS) return { ok: false, problems: [`must be at most ${MAX_REQUIREMENT_CHARS} characters long; got ${text.length}`] };
  const forbidden = forbiddenForms(text);
  if (forbidden.length > 0) return { ok: false, problems: forbidden };

  const semicolon = text.indexOf(";");
  const head = semicolon >= 0 ? text.slice(0, semicolon) : text;
  const marker = semicolon >= 0 ? text.slice(semicolon + 1) : null;

  const m = HEAD.exec(head.trim());
  if (!m) return { ok: false, problems: [`must start with a package name (letters, digits, ".", "_", "-"), e.g. ${EXAMPLES}`] };
  const name = m[1] ?? "";
  let rest = (m[2] ?? "").trim();
  const problems: string[] = [];
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) problems.push("an opening [ of the extras is not closed, e.g. \"uvicorn[standard]\"");
    else {
      const extras = rest.slice(1, close).trim();
      if (extras !== "") {
        for (const extra of extras.split(",")) {
          if (!NAME.test(extra.trim())) problems.push(`extra ${quote(extra.trim())} is not a valid name`);
        }
      }
      rest = rest.slice(close + 1);
    }
  }
  if (problems.length === 0) problems.push(...specifierProblems(rest));
  if (marker !== null) problems.push(...markerProblems(marker));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, requirement: { text, name, normalizedName: normalizePackageName(name), hasMarker: marker !== null } };
}
