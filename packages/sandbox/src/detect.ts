import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SandboxError } from "./errors.js";
import { findExecutable, findSystemExecutable } from "./host.js";
import { runScript } from "./spawn.js";

export interface SandboxCheck {
  /** True when bwrap mode works on this machine. */
  available: boolean;
  /** The bubblewrap executable found, or null. */
  bwrapPath: string | null;
  /** Why it is unavailable, with the fix where there is one; null when available. */
  reason: string | null;
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
  if (bwrapPath === null) {
    return { available: false, bwrapPath, reason: "bubblewrap not installed: apt-get install bubblewrap" };
  }
  const truePath = findSystemExecutable("true");
  if (truePath === null) {
    const reason = "no `true` executable in /usr/bin or /bin to probe the sandbox with";
    return { available: false, bwrapPath, reason };
  }
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
      onLine: (stream, line) => {
        if (stream === "stderr" && stderr.length < MAX_REASON_LINES) stderr.push(line);
      },
    });
    const result = await run.done;
    if (result.exitCode === 0) return { available: true, bwrapPath, reason: null };
    const detail = stderr.join(" / ") || `exit code ${result.exitCode}, signal ${result.signal}`;
    return { available: false, bwrapPath, reason: `bubblewrap cannot create a sandbox here: ${detail}` };
  } catch (err) {
    if (err instanceof SandboxError) return { available: false, bwrapPath, reason: err.message };
    throw err;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
