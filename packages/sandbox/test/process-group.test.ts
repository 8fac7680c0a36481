import { statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runScript, SandboxError } from "../src/index.js";
import { collect, makeJobDir, processesWith, remainingAfterPolls, uniqueMarker } from "./support.js";

// Plain /bin/sh: in this mode the script runs on the host as uid 65534, which may not be able
// to reach a Python installed under /root.
const asRoot = process.getuid?.() === 0;

let job: ReturnType<typeof makeJobDir>;
beforeEach(() => {
  job = makeJobDir();
});
afterEach(() => job.cleanup());

function sh(script: string, extra: { env?: Record<string, string>; marker?: string } = {}) {
  return {
    mode: "process-group" as const,
    command: "/bin/sh",
    args: ["-c", script, extra.marker ?? "sh"],
    cwd: job.dir,
    env: extra.env ?? { PATH: "/usr/bin:/bin" },
    readOnlyPaths: [],
    timeoutMs: 60_000,
    graceMs: 500,
  };
}

describe("runScript in process-group mode", () => {
  it("reports the exit code and output lines", async () => {
    const { result, stdout, stderr } = await collect(sh("echo one; echo two >&2; echo three; exit 4"));
    expect(stdout).toEqual(["one", "three"]);
    expect(stderr).toEqual(["two"]);
    expect(result).toMatchObject({ exitCode: 4, signal: null, timedOut: false, cancelled: false });
  });

  it("gives the script exactly the given environment, plus HOME and PWD", async () => {
    const env = { PATH: "/usr/bin:/bin", JOB_VAR: "x y" };
    const { stdout } = await collect({ ...sh(""), command: "/usr/bin/env", args: [], env });
    expect(Object.fromEntries(stdout.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))).toEqual({
      ...env,
      HOME: job.dir,
      PWD: job.dir,
    });
  });

  it("runs as uid 65534 when the runner is root, in a writable cwd", async () => {
    const { stdout, result } = await collect(sh("id -u; id -g; echo data > out.txt"));
    expect(result.exitCode).toBe(0);
    if (asRoot) {
      expect(stdout).toEqual(["65534", "65534"]);
      expect(statSync(join(job.dir, "out.txt")).uid).toBe(65534);
    } else {
      expect(stdout).toEqual([String(process.getuid?.()), String(process.getgid?.())]);
    }
  });

  it("on timeout kills the whole group, SIGTERM-ignoring members included", async () => {
    const marker = uniqueMarker();
    let seenAtReady: string[] = [];
    const run = runScript({
      ...sh(`trap '' TERM; (while :; do sleep 1; done) & echo ready; while :; do sleep 1; done`, { marker }),
      timeoutMs: 2000,
      onLine: (_s, line) => {
        if (line === "ready") seenAtReady = processesWith(marker);
      },
    });
    const result = await run.done;
    expect(seenAtReady.length).toBeGreaterThanOrEqual(2);
    expect(result).toMatchObject({ timedOut: true, cancelled: false, signal: "SIGKILL" });
    expect(await remainingAfterPolls(marker)).toEqual([]);
  });

  it("on cancel sends SIGTERM to the group first", async () => {
    const marker = uniqueMarker();
    const controller = new AbortController();
    const lines: string[] = [];
    const run = runScript({
      // The background subshell ignores SIGTERM: it is still removed once the leader exits.
      ...sh(`trap 'echo got TERM; exit 0' TERM; (trap '' TERM; while :; do sleep 1; done) & echo ready; wait`, { marker }),
      graceMs: 10_000, // ample: the script exits on SIGTERM, so the grace never runs out
      signal: controller.signal,
      onLine: (_s, line) => {
        lines.push(line);
        if (line === "ready") controller.abort();
      },
    });
    const result = await run.done;
    expect(lines).toEqual(["ready", "got TERM"]);
    expect(result).toMatchObject({ cancelled: true, exitCode: 0 });
    expect(await remainingAfterPolls(marker)).toEqual([]);
  });

  it("refuses an unknown mode instead of running unsandboxed", () => {
    expect(() => runScript({ ...sh(""), mode: "bwarp" as "bwrap", onLine: () => {} })).toThrow(TypeError);
  });

  it("refuses a command that does not exist", () => {
    expect(() => runScript({ ...sh(""), command: join(job.dir, "missing"), onLine: () => {} })).toThrow(
      expect.objectContaining({ code: "SPAWN_FAILED" }) as SandboxError,
    );
  });
});
