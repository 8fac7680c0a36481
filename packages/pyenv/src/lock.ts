import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runChild, type ChildResult } from "./child.js";
import { PyEnvError } from "./errors.js";
import { randomSuffix, writeAtomic } from "./fsutil.js";
import { constraintsFile, lockFile, lockMetaFile, type Layout } from "./layout.js";
import {
  buildFlags,
  COMMON_UV_FLAGS,
  indexFlags,
  sandboxEnv,
  sourceBuildRefused,
  summarize,
  wheelMissingFor,
  type SourceBuilds,
  type UvContext,
} from "./uv-context.js";

/** Metadata beside a cached lock. */
interface LockMeta {
  created_at: string;
  requirements: string[];
  pins: string[];
  /** Version of the platform constraint set the lock was resolved under (absent: none). */
  constraints?: string;
}

/** The cached lock of a request when it is younger than `ttlMs`, else null. */
export async function readFreshLock(layout: Layout, requestKey: string, ttlMs: number): Promise<string | null> {
  try {
    const meta = JSON.parse(await readFile(lockMetaFile(layout, requestKey), "utf8")) as Partial<LockMeta>;
    const created = Date.parse(String(meta.created_at));
    if (!Number.isFinite(created) || Date.now() - created >= ttlMs) return null;
    return await readFile(lockFile(layout, requestKey), "utf8");
  } catch {
    return null;
  }
}

/** A file of platform entries given to uv with `flag`. */
interface PlatformFile {
  flag: "--constraints" | "--excludes";
  path: string;
  text: string;
}

/** What a request is resolved from. */
export interface LockInput {
  requirements: readonly string[];
  pins: readonly string[];
  /** The platform constraints that apply to this request (see `applicableConstraints`), and their set's version. */
  constraints: { version: string; lines: readonly string[] } | null;
  /** Packages left out of the resolution even when something depends on them (`uv pip compile --excludes`). */
  excludes: readonly string[];
}

/**
 * Resolves `requirements` + `pins` with `uv pip compile` for the manager's interpreter and
 * caches the answer. Requirements go to uv as lines on stdin (each already validated and
 * normalized), never through a file we write from user text; the constraints and exclusions
 * file holds only platform entries.
 */
export async function compileLock(
  ctx: UvContext,
  layout: Layout,
  requestKey: string,
  input: LockInput,
  run: { signal: AbortSignal; log: (line: string) => void },
): Promise<string> {
  await mkdir(layout.locks, { recursive: true });
  // The platform's entries uv reads from files (never user text): kept beside the lock.
  const files: PlatformFile[] = [];
  if (input.constraints && input.constraints.lines.length > 0) {
    files.push({ flag: "--constraints", path: constraintsFile(layout, requestKey, "constraints"), text: `${input.constraints.lines.join("\n")}\n` });
  }
  if (input.excludes.length > 0) {
    files.push({ flag: "--excludes", path: constraintsFile(layout, requestKey, "excludes"), text: `${input.excludes.join("\n")}\n` });
  }
  for (const file of files) await writeAtomic(file.path, file.text);
  const args = ["pip", "compile", ...COMMON_UV_FLAGS, ...buildFlags(ctx), "--no-header", "--no-annotate", "--python", ctx.python, ...indexFlags(ctx)];
  const lines = [...input.requirements, ...input.pins].map((line) => `${line}\n`).join("");
  const what = "resolving the requirements";
  const result = ctx.sourceBuilds
    ? await compileInSandbox(ctx, ctx.sourceBuilds, layout, { args, files, requirements: lines }, { ...run, what })
    : await runChild(ctx.uvPath, [...args, ...files.flatMap((f) => [f.flag, f.path]), "-"], {
        env: ctx.env,
        stdin: lines,
        onLine: run.log,
        logStdout: false,
        signal: run.signal,
        what,
      });
  if (result.code !== 0) {
    throw new PyEnvError("LOCK_FAILED", resolutionFailure(result.code, result.stderr, input.pins), { output: result.stderr });
  }
  await writeAtomic(lockFile(layout, requestKey), result.stdout);
  const meta: LockMeta = {
    created_at: new Date().toISOString(),
    requirements: [...input.requirements],
    pins: [...input.pins],
    ...(input.constraints ? { constraints: input.constraints.version } : {}),
  };
  await writeAtomic(lockMetaFile(layout, requestKey), `${JSON.stringify(meta)}\n`);
  return result.stdout;
}

/**
 * Resolving may build a source distribution to read its metadata, so with source builds on it
 * runs in the sandbox, in a folder of its own holding copies of what uv reads. The
 * requirements go there as a file: each line passed the strict PEP 508 check (no options,
 * URLs, paths or variables), and uv reads it inside the sandbox only.
 */
async function compileInSandbox(
  ctx: UvContext,
  builds: SourceBuilds,
  layout: Layout,
  input: { args: string[]; files: PlatformFile[]; requirements: string },
  run: { signal: AbortSignal; log: (line: string) => void; what: string },
): Promise<ChildResult> {
  const dir = join(layout.tmp, `compile-${process.pid}-${randomSuffix()}`);
  await mkdir(dir, { recursive: true });
  try {
    const flags: string[] = [];
    for (const file of input.files) {
      const copy = join(dir, `${file.flag.slice(2)}.txt`);
      await writeFile(copy, file.text);
      flags.push(file.flag, copy);
    }
    const requirements = join(dir, "requirements.in");
    await writeFile(requirements, input.requirements);
    return await builds.sandbox.run(ctx.uvPath, [...input.args, ...flags, requirements], {
      cwd: dir,
      env: sandboxEnv(ctx),
      readOnlyPaths: builds.readOnlyPaths,
      signal: run.signal,
      what: run.what,
      onLine: run.log,
      logStdout: false,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Longest explanation quoted from uv in an error message; the whole of stderr stays in `output`. */
const MAX_EXPLANATION_CHARS = 1_500;

/**
 * The message of a failed resolution. When uv found no solution it explains which
 * requirements collide ("Because mlflow-skinny==3.17.2 depends on click>=7.0,<9 … you
 * require click<7 and mlflow==3.17.2 …", or that a package does not exist): that explanation
 * is quoted, from uv's `error:` line on, so the job's error names the conflict itself. A
 * package without wheels gets a message of its own: uv's hint names it, and the fix is the user's.
 */
export function resolutionFailure(code: number | null, stderr: string, pins: readonly string[]): string {
  const sdistOnly = wheelMissingFor(stderr);
  if (sdistOnly !== null) return sourceBuildRefused(sdistOnly);
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const start = lines.findIndex((l) => l.startsWith("error:"));
  if (start === -1 || !/no solution found/i.test(lines[start] ?? "")) return `uv pip compile failed (exit ${code}): ${summarize(stderr)}`;
  let explanation = lines.slice(start).join(" ").replace(/^error:\s*/, "");
  if (explanation.length > MAX_EXPLANATION_CHARS) explanation = `${explanation.slice(0, MAX_EXPLANATION_CHARS)}…`;
  const what = pins.length > 0 ? `the requirements and the platform's ${pins.join(", ")} cannot be resolved together` : "the requirements cannot be resolved";
  return `uv pip compile failed (exit ${code}): ${what}: ${explanation}`;
}
