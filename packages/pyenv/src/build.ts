import { mkdir, readdir, realpath, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runChild, type ChildResult } from "./child.js";
import { PyEnvError, throwIfAborted } from "./errors.js";
import { processAlive } from "@asgard/tools";
import { reclaimTree, randomSuffix, treeBytes, writeAtomic } from "./fsutil.js";
import { envDir, envMetaFile, type Layout } from "./layout.js";
import type { EnvMeta } from "./reuse.js";
import {
  buildFlags,
  COMMON_UV_FLAGS,
  indexFlags,
  SANDBOX_SCRATCH,
  sandboxEnv,
  sourceBuildRefused,
  summarize,
  wheelMissingFor,
  type UvContext,
} from "./uv-context.js";

/** The lock a venv was synced from, kept inside it so an env says what it holds. */
export const ENV_LOCK_NAME = "asgard-lock.txt";

const TMP_NAME = /-(\d+)-[0-9a-f]+$/;

/**
 * Builds the venv for `lockText` in tmp/ and publishes it as envs/<envKey> with one rename(),
 * so a half-built env is never visible. Returns false when another builder published the
 * same key first (our copy is discarded; theirs is identical by construction). `record` (the
 * resolved set, interpreter, constraint set) is written beside it for reuse by other requests.
 */
export async function buildEnv(
  ctx: UvContext,
  layout: Layout,
  envKey: string,
  lockText: string,
  record: Omit<EnvMeta, "created_at" | "bytes">,
  run: { signal: AbortSignal; log: (line: string) => void },
): Promise<{ published: boolean; bytes: number }> {
  await mkdir(layout.tmp, { recursive: true });
  await mkdir(layout.envs, { recursive: true });
  const scratch = join(layout.tmp, `${envKey}-${process.pid}-${randomSuffix()}`);
  const what = "building the environment";
  try {
    const venv = await runChild(
      ctx.uvPath,
      ["venv", ...COMMON_UV_FLAGS, "--relocatable", "--python", ctx.python, scratch],
      { env: ctx.env, onLine: run.log, signal: run.signal, what },
    );
    if (venv.code !== 0) fail(`uv venv failed (exit ${venv.code})`, venv.stderr);
    throwIfAborted(run.signal, what);

    const lockPath = join(scratch, ENV_LOCK_NAME);
    await writeFile(lockPath, lockText);
    const python = join(scratch, "bin", "python");
    // With source builds on, installing and the first run of the new interpreter happen in the
    // sandbox: a build backend may have rewritten anything in the env, bin/python included.
    const inEnv = (command: string, args: string[], log?: (line: string) => void): Promise<ChildResult> =>
      ctx.sourceBuilds
        ? ctx.sourceBuilds.sandbox.run(command, args, {
            cwd: scratch,
            env: sandboxEnv(ctx),
            readOnlyPaths: ctx.sourceBuilds.readOnlyPaths,
            signal: run.signal,
            what,
            ...(log ? { onLine: log } : {}),
          })
        : runChild(command, args, { env: ctx.env, signal: run.signal, what, ...(log ? { onLine: log } : {}) });
    // sync, not install: the env holds exactly the lock, nothing more.
    const sync = await inEnv(
      ctx.uvPath,
      [
        "pip",
        "sync",
        ...COMMON_UV_FLAGS,
        ...buildFlags(ctx),
        "--allow-empty-requirements",
        ...(ctx.compileBytecode ? ["--compile-bytecode"] : []),
        "--python",
        python,
        ...indexFlags(ctx),
        lockPath,
      ],
      run.log,
    );
    if (sync.code !== 0) {
      // The lock was resolved with wheels only; a wheel withdrawn since then leaves a pin without one.
      const sdistOnly = ctx.sourceBuilds ? null : wheelMissingFor(sync.stderr);
      if (sdistOnly !== null) throw new PyEnvError("BUILD_FAILED", sourceBuildRefused(sdistOnly), { output: sync.stderr });
      fail(`uv pip sync failed (exit ${sync.code})`, sync.stderr);
    }
    throwIfAborted(run.signal, what);

    const check = await inEnv(python, ["-c", "import sys; print(sys.prefix)"]);
    if (check.code !== 0 || (await realpath(check.stdout.trim()).catch(() => "")) !== (await realpath(scratch))) {
      fail(`the new environment's interpreter does not work (exit ${check.code})`, check.stderr || check.stdout);
    }
    if (ctx.sourceBuilds) {
      // Back to the runner's own user, so no job (which runs as the sandbox's user) can write
      // into it; and the lock it says it holds is ours again, whatever the build wrote there.
      await rm(join(scratch, SANDBOX_SCRATCH), { recursive: true, force: true });
      await reclaimTree(scratch);
      // Whatever the build left at that name (a symlink to a host file, say) goes first; an
      // exclusive create never follows a link.
      await rm(lockPath, { recursive: true, force: true });
      await writeFile(lockPath, lockText, { flag: "wx" });
    }
    const bytes = await treeBytes(scratch);
    throwIfAborted(run.signal, what);
    try {
      await rename(scratch, envDir(layout, envKey));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "ENOTEMPTY") return { published: false, bytes };
      throw err;
    }
    const meta: EnvMeta = { created_at: new Date().toISOString(), bytes, ...record };
    await writeAtomic(envMetaFile(layout, envKey), `${JSON.stringify(meta)}\n`);
    return { published: true, bytes };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function fail(message: string, output: string): never {
  throw new PyEnvError("BUILD_FAILED", `${message}: ${summarize(output)}`, { output });
}

/** Removes scratch of builders (and evictions) whose process is gone: the junk a crash leaves. */
export async function cleanTmp(layout: Layout): Promise<string[]> {
  const names = await readdir(layout.tmp).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const pid = TMP_NAME.exec(name)?.[1];
    if (pid !== undefined && !processAlive(Number(pid))) {
      await rm(join(layout.tmp, name), { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}
