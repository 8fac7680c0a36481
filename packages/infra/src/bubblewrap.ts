import { existsSync } from "node:fs";
import { run } from "./process.js";

/**
 * The runner sandboxes scripts with bubblewrap (Debian package `bubblewrap`). On a machine
 * where we are root with apt, the project's own commands install it; elsewhere they say
 * what is missing instead of failing later inside a job.
 */
export async function ensureBubblewrap(): Promise<{ available: boolean; message: string | null }> {
  if (existsSync("/usr/bin/bwrap") || existsSync("/usr/local/bin/bwrap")) return { available: true, message: null };
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync("/usr/bin/apt-get")) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
      await run("apt-get", ["install", "-y", "-q", "bubblewrap"], { env, timeoutMs: 5 * 60_000 });
    } catch {
      // A fresh machine may have no package lists yet.
      await run("apt-get", ["update", "-q"], { env, timeoutMs: 5 * 60_000 }).catch(() => undefined);
      await run("apt-get", ["install", "-y", "-q", "bubblewrap"], { env, timeoutMs: 5 * 60_000 }).catch(() => undefined);
    }
    if (existsSync("/usr/bin/bwrap")) return { available: true, message: null };
  }
  return {
    available: false,
    message:
      "bubblewrap is not installed: install the Debian package `bubblewrap` (apt-get install bubblewrap) so that " +
      "training scripts run in a PID namespace, or set RUNNER_SANDBOX=process-group to run them without one",
  };
}
