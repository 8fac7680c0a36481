import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { inject } from "vitest";
import { ensureUv, pythonExecutable } from "@asgard/tools";
import { createPyEnvManager, type PyEnvManagerOptions } from "../src/index.js";

/** A fresh cache root for one test file, under the run's scratch directory. */
export async function freshRoot(label: string): Promise<string> {
  const root = join(inject("infra").workDir, "pyenv", `${label}-${randomBytes(4).toString("hex")}`);
  await mkdir(root, { recursive: true });
  return root;
}

/** One uv cache per test run: the first build downloads, later ones link from it (as in production). */
export const uvCacheDir = () => join(inject("infra").workDir, "pyenv", "uv-cache");

/** Small, pure-Python pin so every test env also proves the pins are installed. */
export const TEST_PINS = ["six==1.16.0"];

export async function testManager(root: string, over: Partial<PyEnvManagerOptions> = {}) {
  return createPyEnvManager({
    root,
    uvPath: await ensureUv(),
    python: pythonExecutable(),
    pins: TEST_PINS,
    uvCacheDir: uvCacheDir(),
    ...over,
  });
}

/**
 * A uv that records each invocation's arguments and environment in `dir`, then runs the real
 * uv (or fails `uv pip sync` when `failSync`), so tests can see what uv was given.
 */
export async function recordingUv(dir: string, opts: { failSync?: boolean } = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const real = await ensureUv();
  const script = join(dir, "uv");
  const failSync = opts.failSync
    ? `if [ "$1" = "pip" ] && [ "$2" = "sync" ]; then echo "error: injected install failure" >&2; exit 2; fi\n`
    : "";
  await writeFile(
    script,
    `#!/bin/sh\nn="${dir}/call-$$"\n/usr/bin/env > "$n.env"\nprintf '%s\\n' "$@" > "$n.args"\n${failSync}exec "${real}" "$@"\n`,
  );
  await chmod(script, 0o755);
  return script;
}

/** The recorded invocations of a {@link recordingUv}: arguments and environment of each. */
export async function recordedCalls(dir: string): Promise<Array<{ args: string[]; env: Record<string, string> }>> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".args"));
  return Promise.all(
    names.map(async (name) => {
      const base = join(dir, name.slice(0, -".args".length));
      const args = (await readFile(`${base}.args`, "utf8")).split("\n").filter((l) => l !== "");
      const env = Object.fromEntries(
        (await readFile(`${base}.env`, "utf8"))
          .split("\n")
          .filter((l) => l.includes("="))
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
      return { args, env };
    }),
  );
}

/** Runs a command and resolves with its exit code and output (for checking built envs). */
export function exec(command: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, out }));
  });
}

/** The pid of a process that has already exited: what a crashed builder leaves in file names. */
export async function deadPid(): Promise<number> {
  const child = spawn("true");
  const pid = child.pid;
  await new Promise((resolve) => child.once("exit", resolve));
  if (pid === undefined) throw new Error("could not start `true`");
  return pid;
}
