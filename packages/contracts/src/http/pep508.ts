import { CONTROL_CHARS, quote } from "./common.js";
import { normalizePackageName } from "./package-name.js";
import { readMarker } from "./pep508-marker.js";

export { normalizePackageName } from "./package-name.js";

/**
 * A strict reading of PEP 508 requirements for user-supplied `requirements`.
 *
 * Accepted: a package name, optional extras (`[a,b]`), optional version specifiers
 * (`==`, `!=`, `<=`, `>=`, `<`, `>`, `~=`, `===`, comma-separated, optionally in
 * parentheses; `.*` wildcards only after `==`/`!=`), and an optional environment marker
 * after `;` (see `pep508-marker.ts`: comparisons of a marker variable with a quoted string,
 * joined by `and`/`or`, grouped by parentheses).
 *
 * Refused outright, whatever PEP 508 says: pip options (`-r`, `-e`, `--index-url`), URLs
 * and direct references (`name @ url`), paths and `file:`, `$` (variable expansion in
 * requirement files), `#` comments, line breaks, tabs and other control characters. These
 * are the ways a requirement reaches files, indexes or the environment of the build instead
 * of naming a package. Also refused although `packaging` reads them: strings over
 * {@link MAX_REQUIREMENT_CHARS}, and `===` versions with characters other than letters,
 * digits and `. _ + ! -`. `test/pep508-packaging.test.ts` holds each of these exceptions
 * against `packaging`, the reference implementation.
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
  /**
   * The canonical form: PEP 503 name, sorted extras, specifiers without spaces (sorted,
   * de-duplicated), marker tokens joined by single spaces with double-quoted strings.
   * Equivalent spellings share it; environment cache keys hash it and uv is given it, so it
   * changes only on purpose (with a migration of the keys).
   */
  readonly canonical: string;
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

const EXAMPLES = '"scikit-learn", "pandas>=2", "numpy==2.1.*"';

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

interface Parsed<T> {
  problems: string[];
  value: T;
}

/** The version constraints as `<op><version>` each, or the problems found. */
function readSpecifiers(spec: string): Parsed<string[]> {
  let body = spec.trim();
  if (body === "") return { problems: [], value: [] };
  if (body.startsWith("(")) {
    if (!body.endsWith(")")) return { problems: ["an opening ( of the version constraints is not closed"], value: [] };
    body = body.slice(1, -1).trim();
    if (body === "") return { problems: ["the parentheses hold no version constraint"], value: [] };
  }
  // One trailing comma after a constraint is allowed, as `packaging` allows it.
  if (/[^,\s]\s*,$/.test(body)) body = body.slice(0, -1);
  const problems: string[] = [];
  const specs: string[] = [];
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
    const [op, version] = [m[1] ?? "", (m[2] ?? "").trim()];
    const problem = versionProblem(op, version);
    if (problem) problems.push(problem);
    else specs.push(`${op}${version}`);
  }
  return { problems, value: specs };
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
  const extras = new Set<string>();
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) problems.push("an opening [ of the extras is not closed, e.g. \"uvicorn[standard]\"");
    else {
      const listed = rest.slice(1, close).trim();
      if (listed !== "") {
        for (const extra of listed.split(",")) {
          if (!NAME.test(extra.trim())) problems.push(`extra ${quote(extra.trim())} is not a valid name`);
          else extras.add(normalizePackageName(extra.trim()));
        }
      }
      rest = rest.slice(close + 1);
    }
  }
  const specs = problems.length === 0 ? readSpecifiers(rest) : { problems: [], value: [] };
  const markerText = marker === null ? null : readMarker(marker);
  problems.push(...specs.problems, ...(markerText?.ok === false ? markerText.problems : []));
  if (problems.length > 0) return { ok: false, problems };
  const normalizedName = normalizePackageName(name);
  const canonical =
    normalizedName +
    (extras.size > 0 ? `[${[...extras].sort().join(",")}]` : "") +
    [...new Set(specs.value)].sort().join(",") +
    (markerText?.ok ? `; ${markerText.canonical}` : "");
  return { ok: true, requirement: { text, name, normalizedName, hasMarker: marker !== null, canonical } };
}
