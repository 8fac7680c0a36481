import { spawnSync } from "node:child_process";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ensurePackagingVenv } from "@asgard/tools";
import { CONTROL_CHARS, checkRequirement, MAX_REQUIREMENT_CHARS } from "../src/index.js";

/**
 * Differential test of the one PEP 508 parser against PyPI's `packaging`, the reference
 * implementation pip and uv follow, pinned in a tool environment the project installs
 * (`ensurePackagingVenv`; `-I`: never the machine's site-packages). Generated requirement strings, valid and
 * near-valid, are read by both, in one Python process per run:
 * - what packaging refuses, we refuse;
 * - what both accept, we read as packaging does (name, extras, specifiers), and our
 *   canonical form — what uv is given and cache keys hash — reads back in packaging exactly
 *   as the original, marker tree included;
 * - what packaging accepts and we refuse falls under one of the documented exceptions below.
 */

type Reading =
  | { ok: false; error: string }
  | {
      ok: true;
      name: string;
      extras: string[];
      specifiers: string[];
      /** The marker as a tree: conditions as [lhs, op, rhs], groups as lists; one-element groups unwrapped. */
      marker: unknown;
      /** Marker variables used, after packaging's own renaming (os.name → os_name). */
      variables: string[];
      /** Marker string values, as written (extra values normalized). */
      values: string[];
      /** Whether a condition compares two variables or two strings. */
      sameKindOperands: boolean;
      url: string | null;
    };

// `Marker._markers` is packaging's parsed tree: the only way to compare markers by meaning
// rather than by packaging's rendering of them.
const READ_WITH_PACKAGING = String.raw`
import json, sys
from packaging.markers import Variable, Value
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

def tree(m, acc):
    if isinstance(m, list):
        return tree(m[0], acc) if len(m) == 1 else [tree(x, acc) for x in m]
    if isinstance(m, tuple):
        lhs, op, rhs = m
        for side in (lhs, rhs):
            (acc["variables"] if isinstance(side, Variable) else acc["values"]).append(side.value)
        acc["same"] = acc["same"] or type(lhs) is type(rhs)
        return [lhs.serialize(), op.serialize(), rhs.serialize()]
    return m

def read(text):
    try:
        r = Requirement(text)
    except Exception as e:
        return {"ok": False, "error": type(e).__name__}
    acc = {"variables": [], "values": [], "same": False}
    marker = None if r.marker is None else tree(r.marker._markers, acc)
    return {
        "ok": True,
        "name": canonicalize_name(r.name),
        "extras": sorted(canonicalize_name(e) for e in r.extras),
        "specifiers": sorted(str(s) for s in r.specifier),
        "marker": marker,
        "variables": acc["variables"],
        "values": acc["values"],
        "sameKindOperands": acc["same"],
        "url": r.url,
    }

json.dump([read(text) for text in json.load(sys.stdin)], sys.stdout)
`;

function readWithPackaging(python: string, texts: string[]): Reading[] {
  const res = spawnSync(python, ["-I", "-c", READ_WITH_PACKAGING], { input: JSON.stringify(texts), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`packaging could not read the sample: ${res.stderr}`);
  const readings = JSON.parse(res.stdout) as Reading[];
  if (readings.length !== texts.length) throw new Error("packaging returned a reading per text");
  return readings;
}

type Accepted = Extract<Reading, { ok: true }>;

/**
 * What we refuse although packaging reads it, on purpose. Each rule decides from the text
 * and packaging's reading alone (never from our answer), and has examples that must stay
 * accepted by packaging and refused by us.
 */
const DELIBERATE_REFUSALS: { why: string; applies: (text: string, reading: Accepted) => boolean; examples: string[] }[] = [
  {
    why: "URLs and direct references (name @ url) reach files or hosts instead of the index",
    applies: (text, r) => r.url !== null || text.includes("@") || text.includes("://"),
    examples: ["pkg @ https://example.com/pkg-1.0-py3-none-any.whl", "pkg@file:///etc", 'pkg[x] @ git+https://example.com/r.git@v1 ; python_version > "3"'],
  },
  {
    why: "characters that mean something to pip's requirement files or the shell: / \\ $ # (in marker strings too)",
    applies: (text) => /[/\\$#]/.test(text),
    examples: ['pkg; platform_release == "a/b"', 'pkg; os_name == "$HOME"', 'pkg; os_name == "x#y"'],
  },
  {
    why: "tabs and other control characters",
    applies: (text) => CONTROL_CHARS.test(text),
    examples: ["pkg\t>=1", 'pkg;\tpython_version > "3"'],
  },
  {
    why: `longer than ${MAX_REQUIREMENT_CHARS} characters`,
    applies: (text) => text.trim().length > MAX_REQUIREMENT_CHARS,
    examples: [`pkg>=1${",!=1.0".repeat(45)}`],
  },
  {
    why: "=== with characters other than letters, digits and . _ + ! -",
    applies: (_, r) => r.specifiers.some((s) => s.startsWith("===") && !/^===[A-Za-z0-9._+!-]+$/.test(s)),
    examples: ["pkg===1.0~dev", "pkg===1:2"],
  },
  {
    why: "marker strings other than letters, digits, spaces and . _ * + ! -",
    applies: (_, r) => r.values.some((v) => !/^[A-Za-z0-9 ._*+!-]*$/.test(v)),
    examples: [`pkg; os_name == 'a"b'`, 'pkg; os_name == "a;b"', 'pkg; platform_version == "1,2"'],
  },
  {
    why: "marker conditions that compare two variables or two strings",
    applies: (_, r) => r.sameKindOperands,
    examples: ["pkg; python_version > python_full_version", 'pkg; "a" == "b"'],
  },
  {
    why: "marker variables outside PEP 508's list: legacy dotted names (os.name, …) and later additions (extras, dependency_groups)",
    applies: (text, r) =>
      /\b(?:os\.name|sys\.platform|platform\.(?:version|machine|python_implementation)|python_implementation)\b/.test(text) || r.variables.some((v) => v === "extras" || v === "dependency_groups"),
    examples: ['pkg; os.name == "nt"', 'pkg; python_implementation == "CPython"', 'pkg; "a" in extras', 'pkg; "dev" in dependency_groups'],
  },
];

/** Our reading: the parts of the canonical form (name[extras]specs; marker). */
function partsOf(canonical: string) {
  const semicolon = canonical.indexOf("; ");
  const head = semicolon >= 0 ? canonical.slice(0, semicolon) : canonical;
  const m = /^([a-z0-9-]+)(?:\[([^\]]*)\])?(.*)$/.exec(head);
  if (!m) throw new Error(`canonical form ${canonical} does not parse`);
  return { name: m[1], extras: m[2] ? m[2].split(",") : [], specifiers: m[3] ? m[3].split(",") : [] };
}

const sorted = (xs: string[]) => JSON.stringify([...new Set(xs)].sort());
const sameReading = (a: Accepted, b: Accepted) =>
  a.name === b.name && sorted(a.extras) === sorted(b.extras) && sorted(a.specifiers) === sorted(b.specifiers) && JSON.stringify(a.marker) === JSON.stringify(b.marker) && a.url === b.url;

// --- generators: valid requirements, with rare near-misses in every part ---
const sp = fc.oneof({ weight: 100, arbitrary: fc.constantFrom("", "", " ", "  ") }, { weight: 1, arbitrary: fc.constant("\t") });
const nameArb = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,8}[A-Za-z0-9])?$/);
/** `arb` once in `1 + absent` draws, else "". */
const sometimes = (arb: fc.Arbitrary<string>, absent: number) => fc.oneof({ weight: absent, arbitrary: fc.constant("") }, { weight: 1, arbitrary: arb });
const versionArb = fc
  .tuple(
    sometimes(fc.constantFrom("1!", "v"), 6),
    fc.array(fc.nat(30), { minLength: 1, maxLength: 4 }),
    sometimes(fc.constantFrom("a1", "b2", "rc1", ".alpha", "-beta3", "c", "pre", "preview4", "RC2"), 4),
    sometimes(fc.constantFrom(".post1", "-1", "post", ".r2", "rev"), 5),
    sometimes(fc.constantFrom(".dev0", "dev3", "-dev"), 5),
    sometimes(fc.oneof({ weight: 6, arbitrary: fc.constantFrom("+local", "+ubuntu.1", "+Abc-2", ".*") }, { weight: 1, arbitrary: fc.constantFrom("*", "+", "~x", ":1") }), 6),
  )
  .map(([prefix, release, pre, post, dev, tail]) => `${prefix}${release.join(".")}${pre}${post}${dev}${tail}`);
const specArb = fc
  .tuple(
    fc.oneof({ weight: 20, arbitrary: fc.constantFrom("==", "!=", "<=", ">=", "<", ">", "~=", "===") }, { weight: 1, arbitrary: fc.constantFrom("=", "", "=>", "~") }),
    sp,
    versionArb,
    sp,
  )
  .map(([op, s1, v, s2]) => `${op}${s1}${v}${s2}`);
const specsArb = fc
  .tuple(fc.array(specArb, { maxLength: 3 }), fc.integer({ min: 0, max: 5 }).map((n) => n === 0))
  .map(([specs, parens]) => (specs.length > 0 && parens ? `(${specs.join(",")})` : specs.join(",")));
const markerVar = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom("python_version", "python_full_version", "sys_platform", "platform_machine", "os_name", "extra", "implementation_name", "platform_release") },
  { weight: 1, arbitrary: fc.constantFrom("os.name", "sys.platform", "python_implementation", "extras", "dependency_groups", "evil") },
);
const markerValue = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom("3.10", "linux", "win32", "x86_64", "nt", "cpython", "3.8 3.9", "", "Foo_Bar", "3.*") },
  { weight: 1, arbitrary: fc.constantFrom("a;b", "x#y", "a/b", "a,b", "$x", 'a"b', "a'b") },
);
const markerCond = fc
  .tuple(markerVar, sp, fc.oneof({ weight: 20, arbitrary: fc.constantFrom("==", "!=", ">=", "<", "~=", "===", "in", "not in", "not  in") }, { weight: 1, arbitrary: fc.constantFrom("=", "not") }), sp, markerValue, fc.constantFrom('"', "'"), fc.nat(40))
  .map(([v, s1, op, s2, value, q, shape]) => {
    const str = `${q}${value}${q}`;
    const spaced = op.includes("in") || op === "not" ? ` ${op} ` : `${s1}${op}${s2}`;
    if (shape === 0) return `${v}${spaced}python_version`;
    if (shape === 1) return `${str}${spaced}"3"`;
    return shape % 2 === 0 ? `${str}${spaced}${v}` : `${v}${spaced}${str}`;
  });
const joiner = fc.oneof({ weight: 20, arbitrary: fc.constantFrom(" and ", " or ", "  or ", "and ") }, { weight: 1, arbitrary: fc.constantFrom(" And ", " ", " and", ") and (") });
const { marker: markerArb } = fc.letrec<{ marker: string; group: string; joined: string }>((tie) => ({
  marker: fc.oneof({ maxDepth: 3, depthIdentifier: "marker" }, markerCond, tie("joined"), tie("group")),
  group: fc.tuple(sp, fc.oneof(tie("joined"), tie("marker")), sp, fc.oneof({ weight: 20, arbitrary: fc.constant(")") }, { weight: 1, arbitrary: fc.constantFrom("", "))") })).map(([a, m, b, close]) => `(${a}${m}${b}${close}`),
  joined: fc.tuple(tie("marker"), joiner, tie("marker")).map(([a, j, b]) => `${a}${j}${b}`),
}));
const urlArb = fc
  .tuple(sp, fc.constantFrom("https://example.com/pkg-1.0.tar.gz", "file:///etc", "git+https://example.com/r.git@v1", "./local", "https://x"), fc.constantFrom("", " "))
  .map(([s, url, after]) => `@${s}${url}${after}`);
const requirementArb = fc
  .tuple(
    nameArb,
    sp,
    fc.option(fc.array(nameArb, { maxLength: 3 }).map((e) => `[${e.join(", ")}]`), { nil: "" }),
    sp,
    fc.oneof({ weight: 15, arbitrary: specsArb }, { weight: 1, arbitrary: urlArb }),
    fc.option(fc.tuple(sp, markerArb).map(([s, m]) => `;${s}${m}`), { nil: "", freq: 2 }),
  )
  .map((parts) => parts.join(""));
// Some noise, so that near-misses are compared too.
const sampleArb = fc.oneof(
  { weight: 8, arbitrary: requirementArb },
  {
    weight: 1,
    arbitrary: fc
      .tuple(requirementArb, fc.nat(60), fc.constantFrom(" ", ",", "[", "]", "(", ")", ";", "=", "~", "*", "!", ".", "-", "@", "'", '"', "\t", "#"))
      .map(([r, at, c]) => r.slice(0, at) + c + r.slice(at)),
  },
);

describe("the PEP 508 parser against packaging (the reference)", () => {
  it("refuses what packaging refuses, reads the rest as packaging does, and refuses more only for a documented reason", async () => {
    const python = join(await ensurePackagingVenv(), "bin", "python");
    const seed = Number(process.env.PEP508_SEED ?? Date.now() % 2 ** 31);
    console.log(`pep508 differential: fast-check seed ${seed} (PEP508_SEED=${seed} repeats this run)`);
    const examples = DELIBERATE_REFUSALS.flatMap((r) => r.examples);
    const texts = [...new Set([...examples, ...fc.sample(sampleArb, { numRuns: 4000, seed })])];
    const accepted = texts.map((text) => checkRequirement(text));
    const canonicals = accepted.flatMap((c) => (c.ok ? [c.requirement.canonical] : []));
    const readings = readWithPackaging(python, [...texts, ...canonicals]);
    const canonicalReading = new Map(canonicals.map((c, i) => [c, readings[texts.length + i]]));

    const disagreements: string[] = [];
    const counts = { agreed: 0, agreedGrouped: 0, refusedByBoth: 0, deliberate: new Map<string, number>() };
    texts.forEach((text, i) => {
      const ours = accepted[i];
      const ref = readings[i];
      if (!ours || !ref) throw new Error("a text without a reading");
      if (!ref.ok) {
        if (ours.ok) disagreements.push(`${JSON.stringify(text)}: we accept it, packaging refuses it (${ref.error})`);
        else counts.refusedByBoth++;
        return;
      }
      if (!ours.ok) {
        const rule = DELIBERATE_REFUSALS.find((r) => r.applies(text, ref));
        if (rule) counts.deliberate.set(rule.why, (counts.deliberate.get(rule.why) ?? 0) + 1);
        else disagreements.push(`${JSON.stringify(text)}: packaging reads it, we refuse it for no documented reason (${ours.problems.join("; ")})`);
        return;
      }
      const canonical = ours.requirement.canonical;
      const mine = partsOf(canonical);
      const back = canonicalReading.get(canonical);
      const same =
        mine.name === ref.name &&
        sorted(mine.extras) === sorted(ref.extras) &&
        sorted(mine.specifiers) === sorted(ref.specifiers) &&
        back?.ok === true &&
        sameReading(back, ref);
      if (same && /; .*\(/.test(canonical)) counts.agreedGrouped++;
      if (same) counts.agreed++;
      else disagreements.push(`${JSON.stringify(text)}: our canonical form ${canonical} reads as ${JSON.stringify(back)}, the original as ${JSON.stringify(ref)}`);
    });
    console.log(
      `pep508 differential: ${texts.length} requirements; ${counts.agreed} read alike (${counts.agreedGrouped} with grouped markers), ${counts.refusedByBoth} refused by both, deliberately refused: ${JSON.stringify(Object.fromEntries(counts.deliberate))}`,
    );
    expect(disagreements.slice(0, 10)).toEqual([]);
    // The generator must reach every side, or the property says little.
    expect(counts.agreed).toBeGreaterThan(texts.length / 6);
    expect(counts.refusedByBoth).toBeGreaterThan(texts.length / 20);
    expect(counts.agreedGrouped).toBeGreaterThan(texts.length / 200);
    // Every documented exception is real: packaging reads each example, we refuse it, and the rule names it.
    for (const rule of DELIBERATE_REFUSALS) {
      for (const example of rule.examples) {
        const ref = readings[texts.indexOf(example)];
        expect({ example, packaging: ref?.ok, ours: checkRequirement(example).ok, rule: ref?.ok === true && rule.applies(example, ref) }).toEqual({ example, packaging: true, ours: false, rule: true });
      }
    }
  }, 300_000);
});
