import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
// The workspace's own compiler (a root dev dependency): it finds string literals exactly, comments and all.
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { EVENTS, RPC, SIGNALS, STREAMS } from "../src/catalog.js";
import { hasWildcards } from "../src/subjects.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");

/** Subjects and subject families the catalog declares. */
const declared = [
  ...[...Object.values(EVENTS), ...Object.values(SIGNALS), ...Object.values(RPC)].map((d) => d.subject),
  ...Object.values(STREAMS).flatMap((s) => s.subjects),
];
const concrete = new Set<string>(declared.filter((s) => !hasWildcards(s)));
/** `job.log.`, `rpc.scheduler.`, …: the first two tokens of every subject that has more. */
const namespaces = [...new Set(declared.map((s) => s.split(".")).filter((t) => t.length > 2).map((t) => `${t[0]}.${t[1]}.`))];
/** A word, then more tokens, one of them a wildcard: `model.>`, `job.*.log`; not `*.py` or a regex. */
const PATTERN_SHAPE = /^[A-Za-z_$][\w$-]*(\.([\w$-]+|\*))*\.(\*|>)(\.([\w$-]+|\*))*$/;

/** Why `text` (a string literal, or the text before a template literal's first `${`) spells a subject; null if it does not. */
function subjectLike(text: string, whole: boolean): string | null {
  if (whole && concrete.has(text)) return "a declared subject";
  const ns = namespaces.find((n) => text.startsWith(n));
  if (ns) return `in the declared namespace ${ns}`;
  if (whole && PATTERN_SHAPE.test(text)) return "a subject pattern";
  return null;
}

/** Every string literal of the source that spells a NATS subject, with its line. */
function subjectLiterals(fileName: string, source: string): Array<{ line: number; text: string; why: string }> {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: Array<{ line: number; text: string; why: string }> = [];
  const visit = (node: ts.Node): void => {
    let text: string | null = null;
    let whole = true;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) text = node.text;
    else if (ts.isTemplateHead(node)) {
      text = node.text;
      whole = false;
    }
    const why = text === null ? null : subjectLike(text, whole);
    if (text !== null && why !== null) {
      found.push({ line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1, text, why });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** TypeScript files under `dir`, test files only when asked for. */
async function sourceFiles(dir: string, opts: { tests?: boolean } = {}): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") && (opts.tests || !e.name.endsWith(".test.ts")))
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !p.includes("/node_modules/"));
}

/** Module names the source imports or re-exports (dynamic imports included). */
function importsOf(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) found.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe("services reach NATS only through packages/bus", () => {
  it("imports no @nats-io module in any service, tests included", async () => {
    const offenders: string[] = [];
    for (const service of await readdir(join(ROOT, "services"))) {
      for (const path of await sourceFiles(join(ROOT, "services", service), { tests: true })) {
        for (const name of importsOf(path, await readFile(path, "utf8"))) {
          if (name.startsWith("@nats-io/")) offenders.push(`${relative(ROOT, path)} imports ${name}`);
        }
      }
    }
    expect(offenders).toEqual([]);
    expect(importsOf("fixture.ts", 'import { connect } from "@nats-io/transport-node";\nexport * from "@nats-io/jetstream";\nawait import("@nats-io/kv");')).toEqual([
      "@nats-io/transport-node",
      "@nats-io/jetstream",
      "@nats-io/kv",
    ]);
  });
});

describe("NATS subjects are spelled only in packages/contracts", () => {
  it("finds no subject literal in the sources of services and other packages", async () => {
    const owners = [
      ...(await readdir(join(ROOT, "services"))).map((s) => join(ROOT, "services", s, "src")),
      ...(await readdir(join(ROOT, "packages"))).filter((p) => p !== "contracts").map((p) => join(ROOT, "packages", p, "src")),
    ];
    const offenders: string[] = [];
    let scanned = 0;
    for (const dir of owners) {
      for (const path of await sourceFiles(dir)) {
        scanned++;
        for (const hit of subjectLiterals(path, await readFile(path, "utf8"))) {
          offenders.push(`${relative(ROOT, path)}:${hit.line} ${JSON.stringify(hit.text)} (${hit.why}): use the catalog entry, or subjectOf() for a family member`);
        }
      }
    }
    // Not an empty scan that passes by finding no file at all.
    expect(scanned).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
  });

  it("recognises a subject however it is written, and nothing else", () => {
    const source = [
      'const a = "model.>";',
      "const b = `job.log.${jobId}`;",
      'const c = "run.completed";',
      "const d = `rpc.scheduler.get_job`;",
      'const e = { subject: "registry.claim." + token };',
      '// "job.cancel.x" in a comment is no literal',
      'const fine = ["model.pkl", "*.py", "^job.*$", "run.completed is done", "registry.claim", `${x}.job.log.`];',
      'logger.info({ subject }, "run.completed received");',
    ].join("\n");
    expect(subjectLiterals("fixture.ts", source).map((h) => [h.line, h.text])).toEqual([
      [1, "model.>"],
      [2, "job.log."],
      [3, "run.completed"],
      [4, "rpc.scheduler.get_job"],
      [5, "registry.claim."],
    ]);
  });
});
