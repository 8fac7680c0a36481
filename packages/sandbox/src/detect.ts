import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SandboxError } from "./errors.js";
import { findExecutable, findSystemExecutable } from "./host.js";
import { cgroupSupport } from "./cgroups.js";
import { runScript } from "./spawn.js";

export interface SandboxCheck {
  /**
   * True when bwrap mode works on this machine: namespaces (network included), the seccomp
   * filter and the rlimits, proven by running a command in exactly the sandbox `runScript` builds.
   */
  available: boolean;
  /** The bubblewrap executable found, or null. */
  bwrapPath: string | null;
  /** Why it is unavailable, with the fix where there is one; null when available. */
  reason: string | null;
  /**
   * Whether each sandbox gets a cgroup (memory, processes and CPU limited per sandbox); when
   * not, `reason` says why and memory and processes are limited per process and per uid by
   * rlimits instead.
   */
  cgroups: { available: boolean; version: "v1" | "v2" | null; reason: string | null };
  /** Whether sandboxes can be given outbound internet (`internet: true`), proven like `available`. */
  internet: { available: boolean; reason: string | null };
}

const PROBE_TIMEOUT_MS = 30_000;
/** Enough of bwrap's complaint to name the cause ("No permissions to create new namespace…"). */
const MAX_REASON_LINES = 5;

let cached: Promise<SandboxCheck> | undefined;

/**
 * Whether bwrap mode works here, proven by running a trivial command through exactly the
 * sandbox `runScript` builds (a kernel or container may refuse namespaces even when bwrap is
 * installed). Runs once per process; later calls return the first answer.
 */
export function checkSandbox(): Promise<SandboxCheck> {
  cached ??= probe();
  return cached;
}

async function probe(): Promise<SandboxCheck> {
  const bwrapPath = findExecutable("bwrap");
  const cgroups = describeCgroups();
  const unavailable = (reason: string): SandboxCheck => ({
    available: false,
    bwrapPath,
    reason,
    cgroups,
    internet: { available: false, reason: "no sandbox" },
  });
  if (bwrapPath === null) return unavailable("bubblewrap not installed: apt-get install bubblewrap");
  const truePath = findSystemExecutable("true");
  if (truePath === null) return unavailable("no `true` executable in /usr/bin or /bin to probe the sandbox with");
  const plain = await tryRun(truePath, false);
  if (plain !== null) return unavailable(plain);
  const internetFailure = await tryRun(truePath, true);
  return {
    available: true,
    bwrapPath,
    reason: null,
    cgroups,
    internet: { available: internetFailure === null, reason: internetFailure },
  };
}

function describeCgroups(): SandboxCheck["cgroups"] {
  const support = cgroupSupport();
  return support.kind === "none"
    ? { available: false, version: null, reason: support.reason }
    : { available: true, version: support.kind, reason: null };
}

/** Runs `true` in the sandbox; null when it worked, else why not. */
async function tryRun(truePath: string, internet: boolean): Promise<string | null> {
  const cwd = mkdtempSync(join(tmpdir(), "sandbox-check-"));
  const stderr: string[] = [];
  try {
    const run = runScript({
      command: truePath,
      args: [],
      cwd,
      env: {},
      readOnlyPaths: [],
      timeoutMs: PROBE_TIMEOUT_MS,
      internet,
      onLine: (stream, line) => {
        if (stream === "stderr" && stderr.length < MAX_REASON_LINES) stderr.push(line);
      },
    });
    const result = await run.done;
    if (result.exitCode === 0) return null;
    const detail = stderr.join(" / ") || `exit code ${result.exitCode}, signal ${result.signal}`;
    return `bubblewrap cannot create a sandbox here: ${detail}`;
  } catch (err) {
    if (err instanceof SandboxError) return err.message;
    throw err;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
