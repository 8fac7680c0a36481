import { mkdir, readFile } from "node:fs/promises";
import { runChild } from "./child.js";
import { PyEnvError } from "./errors.js";
import { writeAtomic } from "./fsutil.js";
import { lockFile, lockMetaFile, type Layout } from "./layout.js";
import { COMMON_UV_FLAGS, indexFlags, summarize, type UvContext } from "./uv-context.js";

/** Metadata beside a cached lock. */
interface LockMeta {
  created_at: string;
  requirements: string[];
  pins: string[];
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

/**
 * Resolves `requirements` + `pins` with `uv pip compile` for the manager's interpreter and
 * caches the answer. Requirements go to uv as lines on stdin (each already validated and
 * normalized), never through a file we write from user text.
 */
export async function compileLock(
  ctx: UvContext,
  layout: Layout,
  requestKey: string,
  input: { requirements: readonly string[]; pins: readonly string[] },
  run: { signal: AbortSignal; log: (line: string) => void },
): Promise<string> {
  const args = ["pip", "compile", ...COMMON_UV_FLAGS, "--no-header", "--no-annotate", "--python", ctx.python, ...indexFlags(ctx), "-"];
  const stdin = [...input.requirements, ...input.pins].map((line) => `${line}\n`).join("");
  const result = await runChild(ctx.uvPath, args, { env: ctx.env, stdin, onLine: run.log, logStdout: false, signal: run.signal, what: "resolving the requirements" });
  if (result.code !== 0) {
    throw new PyEnvError("LOCK_FAILED", `uv pip compile failed (exit ${result.code}): ${summarize(result.stderr)}`, { output: result.stderr });
  }
  await mkdir(layout.locks, { recursive: true });
  await writeAtomic(lockFile(layout, requestKey), result.stdout);
  const meta: LockMeta = { created_at: new Date().toISOString(), requirements: [...input.requirements], pins: [...input.pins] };
  await writeAtomic(lockMetaFile(layout, requestKey), `${JSON.stringify(meta)}\n`);
  return result.stdout;
}
