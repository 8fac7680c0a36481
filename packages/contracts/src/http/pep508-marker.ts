import { quote } from "./common.js";
import { normalizePackageName } from "./package-name.js";

/**
 * PEP 508 environment markers (the part after `;`), read strictly: each condition compares
 * one marker variable with one quoted string; conditions are joined by `and`/`or` and may be
 * grouped in parentheses, as in `(sys_platform == "linux" or sys_platform == "darwin") and
 * python_version < "3.12"`.
 *
 * Refused although `packaging` reads them: comparing two variables or two strings, the
 * legacy dotted names (`os.name`, `sys.platform`, `platform.machine`, …) and strings with
 * characters other than letters, digits, spaces and `. _ * + ! -` (no quotes, `;`, `#`,
 * `$`, `/` inside a marker string).
 */

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

const EXAMPLE = 'python_version >= "3.10"';
const CONDITION_SHAPE = `each marker condition must compare a variable with a quoted string, e.g. ${EXAMPLE} and sys_platform == "linux"`;

type Token = { kind: "var" | "str" | "op" | "and_or" | "(" | ")"; text: string };

/** A condition (its three tokens, strings double-quoted) or a group of nodes joined by and/or. */
type MarkerNode = { condition: [string, string, string] } | { group: (MarkerNode | "and" | "or")[] };

/** A marker read: its canonical text, or the problems found. */
export type MarkerReading = { ok: true; canonical: string } | { ok: false; problems: string[] };

/**
 * Reads the marker after `;`. The canonical text joins tokens with single spaces, quotes
 * strings with `"`, normalizes `extra` values (PEP 685), and keeps a group's parentheses
 * only where the group joins several conditions — so a marker without parentheses reads as
 * it always has (environment cache keys hash this text).
 */
export function readMarker(marker: string): MarkerReading {
  const source = marker.trim();
  if (source === "") return { ok: false, problems: [`a ";" must be followed by an environment marker, e.g. ${EXAMPLE}`] };
  const tokens = tokenize(source);
  if (typeof tokens === "string") return { ok: false, problems: [tokens] };
  const parsed = parseGroup(tokens, 0);
  if ("problem" in parsed) return { ok: false, problems: [parsed.problem] };
  if (parsed.pos < tokens.length) return { ok: false, problems: ["a ) in the environment marker has no matching ("] };
  return { ok: true, canonical: format(parsed.node, true) };
}

function tokenize(source: string): Token[] | string {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < source.length) {
    MARKER_TOKEN.lastIndex = pos;
    const m = MARKER_TOKEN.exec(source);
    if (!m) return `the environment marker is not understood near ${quote(source.slice(pos), 20)}: write e.g. ${EXAMPLE}`;
    pos = MARKER_TOKEN.lastIndex;
    const [, word, str, op, paren] = m;
    if (paren === "(" || paren === ")") tokens.push({ kind: paren, text: paren });
    else if (str !== undefined) {
      if (!MARKER_STRING_CHARS.test(str.slice(1, -1))) return `marker value ${quote(str)} may only contain letters, digits, spaces and . _ * + ! -`;
      tokens.push({ kind: "str", text: `"${str.slice(1, -1)}"` });
    } else if (op !== undefined) tokens.push({ kind: "op", text: op });
    else if (word !== undefined) {
      const problem = pushWord(tokens, word);
      if (problem) return problem;
    }
  }
  return tokens.some((t) => t.kind === "op" && t.text === "not") ? '"not" must be followed by "in"' : tokens;
}

/** Adds a word token; `not` followed by `in` becomes the one operator `not in`. */
function pushWord(tokens: Token[], word: string): string | null {
  const last = tokens[tokens.length - 1];
  if (word === "and" || word === "or") tokens.push({ kind: "and_or", text: word });
  else if (word === "in" && last?.kind === "op" && last.text === "not") last.text = "not in";
  else if (word === "in") tokens.push({ kind: "op", text: "in" });
  else if (word === "not") {
    if (last?.kind === "op") return '"not" must be followed by "in"';
    tokens.push({ kind: "op", text: "not" });
  } else if (MARKER_VARIABLES.has(word)) tokens.push({ kind: "var", text: word });
  else return `${quote(word)} is not an environment marker variable (e.g. python_version, sys_platform, platform_machine)`;
  return null;
}

type Parse = { node: MarkerNode; pos: number } | { problem: string };

/** group = atom (and_or atom)*; stops before a `)` or at the end. */
function parseGroup(tokens: Token[], start: number): Parse {
  const items: (MarkerNode | "and" | "or")[] = [];
  let pos = start;
  for (;;) {
    const atom = parseAtom(tokens, pos);
    if ("problem" in atom) return atom;
    items.push(atom.node);
    pos = atom.pos;
    const next = tokens[pos];
    if (next === undefined || next.kind === ")") return { node: { group: items }, pos };
    if (next.kind !== "and_or") return { problem: "marker conditions must be joined with and/or" };
    if (tokens[pos + 1] === undefined) return { problem: `the marker must not end with "${next.text}"` };
    items.push(next.text as "and" | "or");
    pos++;
  }
}

/** atom = "(" group ")" | operand op operand, with one variable and one string. */
function parseAtom(tokens: Token[], pos: number): Parse {
  const first = tokens[pos];
  if (first?.kind === "(") {
    if (tokens[pos + 1]?.kind === ")") return { problem: "empty parentheses in the environment marker: put a condition between them" };
    const inner = parseGroup(tokens, pos + 1);
    if ("problem" in inner) return inner;
    if (tokens[inner.pos]?.kind !== ")") return { problem: "an opening ( in the environment marker is not closed" };
    return { node: inner.node, pos: inner.pos + 1 };
  }
  const [a, op, b] = [first, tokens[pos + 1], tokens[pos + 2]];
  const operand = (t: Token | undefined): t is Token => t?.kind === "var" || t?.kind === "str";
  if (!operand(a) || op?.kind !== "op" || !operand(b) || a.kind === b.kind) return { problem: CONDITION_SHAPE };
  // PEP 685: a value compared with `extra` is a name and compares normalized.
  const value = (t: Token) => (t.kind === "str" && (a.text === "extra" || b.text === "extra") ? `"${normalizePackageName(t.text.slice(1, -1))}"` : t.text);
  return { node: { condition: [value(a), op.text, value(b)] }, pos: pos + 3 };
}

function format(node: MarkerNode, top: boolean): string {
  if ("condition" in node) return node.condition.join(" ");
  const [only] = node.group;
  if (node.group.length === 1 && only !== undefined && typeof only !== "string") return format(only, top);
  const text = node.group.map((item) => (typeof item === "string" ? item : format(item, false))).join(" ");
  return top ? text : `(${text})`;
}
