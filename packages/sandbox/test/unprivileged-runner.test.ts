import { chownSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { makeJobDir, processesWith, remainingAfterPolls, startChildRunner, uniqueMarker } from "./support.js";

// A runner that is not root cannot switch uid: bwrap then runs unprivileged and maps the
// script's uid in a user namespace. When these tests run as root, the runner is started as
// uid 65534 to take that path; otherwise it runs as the test's own user.
const runnerUid = process.getuid?.() === 0 ? 65534 : undefined;

let job: ReturnType<typeof makeJobDir>;
beforeEach(() => {
  job = makeJobDir();
  // The runner owns its job directories.
  if (runnerUid !== undefined) chownSync(job.dir, runnerUid, runnerUid);
});
afterEach(() => job.cleanup());

function shOptions(script: string, marker: string) {
  return {
    command: "/bin/sh",
    args: ["-c", script, marker],
    cwd: job.dir,
    env: { PATH: "/usr/bin:/bin" },
    readOnlyPaths: [],
    timeoutMs: 60_000,
    graceMs: 500,
  };
}

function stdoutOf(runner: ReturnType<typeof startChildRunner>): string[] {
  return runner.reports.filter((r) => r.stream === "stdout").map((r) => String(r.line));
}

describe("bwrap mode under a runner that is not root", () => {
  it("maps the script to uid 65534 in its own PID namespace, with a writable cwd", async () => {
    const runner = startChildRunner(
      shOptions("id -u; id -g; ls /proc | grep -c '^[0-9]'; echo x > out.txt && echo written", "sh"),
      runnerUid === undefined ? {} : { uid: runnerUid },
    );
    const { result } = await runner.waitFor((r) => "result" in r);
    expect(result).toMatchObject({ exitCode: 0 });
    const [uid, gid, visibleProcesses, written] = stdoutOf(runner);
    expect([uid, gid, written]).toEqual(["65534", "65534", "written"]);
    // bwrap's init, sh, ls and grep: nothing of the host.
    expect(Number(visibleProcesses)).toBeLessThanOrEqual(5);
    await runner.exited;
  });

  it("delivers SIGTERM to the script on timeout before anything is killed", async () => {
    const runner = startChildRunner(
      // sh runs the trap once the current `sleep 1` returns, hence the longer grace.
      { ...shOptions(`trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 1; done`, "sh"), timeoutMs: 2000, graceMs: 10_000 },
      runnerUid === undefined ? {} : { uid: runnerUid },
    );
    const { result } = await runner.waitFor((r) => "result" in r);
    expect(stdoutOf(runner)).toEqual(["ready", "got TERM"]);
    expect(result).toMatchObject({ timedOut: true, exitCode: 0, signal: null });
    await runner.exited;
  });

  it("kills a SIGTERM-ignoring tree with a setsid daemon on timeout", async () => {
    const marker = uniqueMarker();
    const runner = startChildRunner(
      {
        ...shOptions(
          `trap '' TERM; (trap '' TERM; while :; do sleep 1; done) & setsid sh -c 'trap "" TERM; while :; do sleep 1; done' "$0" & echo ready; while :; do sleep 1; done`,
          marker,
        ),
        timeoutMs: 3000,
      },
      runnerUid === undefined ? {} : { uid: runnerUid },
    );
    await runner.waitFor((r) => r.stream === "stdout" && r.line === "ready");
    expect(processesWith(marker).filter((l) => !l.includes("bwrap")).length).toBeGreaterThanOrEqual(3);
    const { result } = await runner.waitFor((r) => "result" in r);
    expect(result).toMatchObject({ timedOut: true, signal: "SIGKILL" });
    expect(await remainingAfterPolls(marker)).toEqual([]);
    await runner.exited;
  });

  it("serves MLflow to the script through the proxy, and falls back to rlimits without cgroups", async () => {
    const mlflowUrl = inject("infra").mlflowUrl;
    const code = [
      "import json, resource, socket, sys, urllib.request",
      "with urllib.request.urlopen('http://127.0.0.1:5000/health') as r: health = r.status",
      "try:",
      "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10); direct = 'connected'",
      "except OSError as e:",
      "    direct = type(e).__name__",
      "print(json.dumps({'health': health, 'direct': direct, 'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0]}))",
    ].join("\n");
    const runner = startChildRunner(
      {
        command: "/usr/bin/python3",
        args: ["-c", code, new URL(mlflowUrl).port],
        cwd: job.dir,
        env: { PATH: "/usr/bin:/bin" },
        readOnlyPaths: [],
        timeoutMs: 60_000,
        mlflow: { url: mlflowUrl, workspace: "default" },
        limits: { pids: 900 },
      },
      runnerUid === undefined ? {} : { uid: runnerUid },
    );
    const { result } = await runner.waitFor((r) => "result" in r);
    expect(result).toMatchObject({ exitCode: 0 });
    const report = JSON.parse(stdoutOf(runner).at(-1) ?? "null") as { health: number; direct: string; nproc: number };
    expect(report).toMatchObject({ health: 200, direct: "ConnectionRefusedError" });
    // An unprivileged runner cannot create cgroups: the process limit becomes RLIMIT_NPROC.
    if (runnerUid !== undefined) expect(report.nproc).toBe(900);
    await runner.exited;
  });
});
