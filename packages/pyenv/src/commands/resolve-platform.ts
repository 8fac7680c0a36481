import { readFile } from "node:fs/promises";
import { runChild } from "../child.js";
import { buildChildEnv } from "../child-env.js";
import { parseConstraints, renderConstraints, type ConstraintSet } from "../constraints.js";
import { PyEnvError } from "../errors.js";
import { resolutionFailure } from "../lock.js";
import { COMMON_UV_FLAGS } from "../uv-context.js";

/** What the platform injects into every env: MLflow at the tracking server's version. */
export const platformRequirements = (mlflowVersion: string) => [`mlflow==${mlflowVersion}`];

/**
 * Resolves the platform's Python layer afresh (newest versions of everything MLflow pulls in)
 * with `uv pip compile --universal`, so the set holds for every interpreter and platform a
 * runner may use (entries that differ carry a marker). Returns the committed file's text.
 */
export async function resolvePlatformLayer(o: {
  uvPath: string;
  uvVersion: string;
  python: string;
  mlflowVersion: string;
  uvCacheDir?: string;
  indexUrl?: string;
}): Promise<{ text: string; set: ConstraintSet }> {
  const requirements = platformRequirements(o.mlflowVersion);
  const args = [
    "pip", "compile", ...COMMON_UV_FLAGS, "--universal", "--no-header", "--no-annotate", "--refresh",
    "--python", o.python, ...(o.indexUrl ? ["--index-url", o.indexUrl] : []), "-",
  ];
  const env = buildChildEnv(process.env, o.uvCacheDir ? { uvCacheDir: o.uvCacheDir } : {});
  const result = await runChild(o.uvPath, args, { env, stdin: requirements.map((r) => `${r}\n`).join(""), what: "resolving the platform's packages" });
  if (result.code !== 0) throw new PyEnvError("LOCK_FAILED", resolutionFailure(result.code, result.stderr, []), { output: result.stderr });
  const probe = await runChild(o.python, ["-c", "import platform; print(platform.python_version())"], { env, what: "probing the interpreter" });
  const lines = result.stdout.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  const text = renderConstraints(lines, `${requirements.join(" ")} with uv ${o.uvVersion} --universal (from Python ${probe.stdout.trim()})`);
  return { text, set: parseConstraints(text, "the fresh resolution") };
}

/** Package-level changes from one set to another, one line each, for people to read. */
export function describeChanges(before: ConstraintSet, after: ConstraintSet): string[] {
  const index = (s: ConstraintSet) => {
    const m = new Map<string, string[]>();
    for (const line of s.lines) {
      const name = line.slice(0, line.indexOf("=="));
      m.set(name, [...(m.get(name) ?? []), line.slice(name.length + 2)]);
    }
    return m;
  };
  const a = index(before);
  const b = index(after);
  const out: string[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const was = a.get(name)?.join(" | ");
    const now = b.get(name)?.join(" | ");
    if (was === now) continue;
    if (was === undefined) out.push(`+ ${name} ${now}`);
    else if (now === undefined) out.push(`- ${name} ${was}`);
    else out.push(`~ ${name} ${was} -> ${now}`);
  }
  return out;
}

export async function readSet(path: string): Promise<ConstraintSet> {
  return parseConstraints(await readFile(path, "utf8"), path);
}
