import type { ResourceMaxima } from "@asgard/contracts";
import { runScript, type ResourceLimits, type SandboxCheck, type SandboxMode } from "@asgard/sandbox";
import type { ChildResult } from "./child.js";
import { cancelled } from "./errors.js";

/** How much of stderr is kept for error messages, as for uv run outside the sandbox. */
const TAIL_CHARS = 8_000;

/** One uv command run where a build backend's code is contained. */
export interface SandboxedCommand {
  /** The only folder the command may write; HOME and uv's cache are put inside it. */
  cwd: string;
  /** The complete environment (an allow-list). */
  env: Record<string, string>;
  /** Host paths it needs to read (uv, the base interpreter, CA certificates). */
  readOnlyPaths: string[];
  signal: AbortSignal | undefined;
  what: string;
  onLine?: (line: string) => void;
  /** False when stdout is data (a lock) rather than progress. Default true. */
  logStdout?: boolean;
}

/**
 * Runs the commands that may build a source distribution (resolving and installing when
 * source builds are allowed). The platform's implementation is {@link sandboxedSourceBuilds};
 * an interface so the manager does not care how the sandbox is made.
 */
export interface SourceBuildSandbox {
  run(command: string, args: readonly string[], o: SandboxedCommand): Promise<ChildResult>;
}

const MiB = 1024 * 1024;

/**
 * A build's bounds, those of a job at the deployment's maxima: memory (its scratch included),
 * CPUs, processes, and its scratch — HOME, uv's cache, downloads and build trees, all in the
 * sandbox's private `/tmp` — sized like a job's work directory. The environment being built
 * stays on disk, bounded per file.
 */
export function sourceBuildLimits(maxima: ResourceMaxima): Partial<ResourceLimits> {
  return { memoryBytes: maxima.memoryMb * MiB, cpus: maxima.cpus, pids: maxima.processes, tmpBytes: maxima.diskMb * MiB };
}

/**
 * Source builds in the job sandbox (`@asgard/sandbox`): own namespaces, seccomp, cgroup
 * limits, as `uid`/`gid`, with internet through slirp4netns (a build fetches its backend from
 * the index) and the host's loopback out of reach. Only `cwd` is writable.
 */
export function sandboxedSourceBuilds(o: {
  uid: number;
  gid: number;
  timeoutMs: number;
  /** See {@link sourceBuildLimits}. */
  limits: Partial<ResourceLimits>;
  mode?: SandboxMode;
}): SourceBuildSandbox {
  return {
    async run(command, args, c) {
      if (c.signal?.aborted) throw cancelled(c.what);
      let stdout = "";
      let stderr = "";
      const running = runScript({
        command,
        args: [...args],
        cwd: c.cwd,
        env: c.env,
        readOnlyPaths: c.readOnlyPaths,
        uid: o.uid,
        gid: o.gid,
        timeoutMs: o.timeoutMs,
        limits: o.limits,
        internet: true,
        ...(c.signal ? { signal: c.signal } : {}),
        ...(o.mode ? { mode: o.mode } : {}),
        onLine: (stream, line) => {
          if (stream === "stdout") stdout += `${line}\n`;
          else stderr = `${stderr}${line}\n`.slice(-TAIL_CHARS);
          if (stream === "stderr" || c.logStdout !== false) c.onLine?.(line);
        },
      });
      const result = await running.done;
      if (result.cancelled) throw cancelled(c.what);
      if (result.timedOut) stderr += `\nstopped after ${o.timeoutMs} ms in the sandbox`;
      if (result.limitExceeded) stderr += `\nstopped by the sandbox's ${result.limitExceeded} limit`;
      return { code: result.exitCode, stdout, stderr };
    },
  };
}

/**
 * Why a service configured with `ENV_SOURCE_BUILDS=sandbox` must not start, or null when it
 * may: builds run only in the bwrap sandbox, and need internet there (a build fetches its
 * backend from the index). One check for every service that builds environments, so none of
 * them starts only to fail its builds one by one. `sandbox` is the service's own
 * `checkSandbox()` result (null: it runs without the sandbox); `sandboxSetting` names the
 * variable that chose it.
 */
export function sourceBuildsRefusal(o: { sandbox: SandboxCheck | null; sandboxSetting: string }): string | null {
  if (o.sandbox === null) return `ENV_SOURCE_BUILDS=sandbox needs ${o.sandboxSetting}=bwrap: source builds never run outside the sandbox`;
  if (!o.sandbox.available) return `ENV_SOURCE_BUILDS=sandbox needs the sandbox, which does not work here: ${o.sandbox.reason}`;
  if (!o.sandbox.internet.available) {
    return `ENV_SOURCE_BUILDS=sandbox needs internet in the sandbox (a build fetches from the index): ${o.sandbox.internet.reason}`;
  }
  return null;
}
