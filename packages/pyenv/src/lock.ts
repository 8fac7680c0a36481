import { mkdir, readFile } from "node:fs/promises";
import { runChild } from "./child.js";
import { PyEnvError } from "./errors.js";
import { writeAtomic } from "./fsutil.js";
import { constraintsFile, lockFile, lockMetaFile, type Layout } from "./layout.js";
import { COMMON_UV_FLAGS, indexFlags, summarize, type UvContext } from "./uv-context.js";

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
  const extra: string[] = [];
  if (input.constraints && input.constraints.lines.length > 0) {
    const file = constraintsFile(layout, requestKey, "constraints");
    await writeAtomic(file, `${input.constraints.lines.join("\n")}\n`);
    extra.push("--constraints", file);
  }
  if (input.excludes.length > 0) {
    const file = constraintsFile(layout, requestKey, "excludes");
    await writeAtomic(file, `${input.excludes.join("\n")}\n`);
    extra.push("--excludes", file);
  }
  const args = ["pip", "compile", ...COMMON_UV_FLAGS, "--no-header", "--no-annotate", "--python", ctx.python, ...indexFlags(ctx), ...extra, "-"];
  const stdin = [...input.requirements, ...input.pins].map((line) => `${line}\n`).join("");
  const result = await runChild(ctx.uvPath, args, { env: ctx.env, stdin, onLine: run.log, logStdout: false, signal: run.signal, what: "resolving the requirements" });
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

/** Longest explanation quoted from uv in an error message; the whole of stderr stays in `output`. */
const MAX_EXPLANATION_CHARS = 1_500;

/**
 * The message of a failed resolution. When uv found no solution it explains which
 * requirements collide ("Because mlflow-skinny==3.17.2 depends on click>=7.0,<9 … you
 * require click<7 and mlflow==3.17.2 …", or that a package does not exist): that explanation
 * is quoted, from uv's `error:` line on, so the job's error names the conflict itself.
 */
export function resolutionFailure(code: number | null, stderr: string, pins: readonly string[]): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const start = lines.findIndex((l) => l.startsWith("error:"));
  if (start === -1 || !/no solution found/i.test(lines[start] ?? "")) return `uv pip compile failed (exit ${code}): ${summarize(stderr)}`;
  let explanation = lines.slice(start).join(" ").replace(/^error:\s*/, "");
  if (explanation.length > MAX_EXPLANATION_CHARS) explanation = `${explanation.slice(0, MAX_EXPLANATION_CHARS)}…`;
  const what = pins.length > 0 ? `the requirements and the platform's ${pins.join(", ")} cannot be resolved together` : "the requirements cannot be resolved";
  return `uv pip compile failed (exit ${code}): ${what}: ${explanation}`;
}
