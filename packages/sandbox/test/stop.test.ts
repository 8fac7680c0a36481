import { existsSync, readdirSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cgroupSupport } from "../src/cgroups.js";
import { runScript, type RunScriptOptions } from "../src/index.js";
import { findPython, makeJobDir, processesWith, remainingAfterPolls, startChildRunner, uniqueMarker } from "./support.js";

const python = findPython();

let job: ReturnType<typeof makeJobDir>;
beforeEach(() => {
  job = makeJobDir();
});
afterEach(() => job.cleanup());

/**
 * Forks a child that ignores SIGTERM and a double-forked `setsid` daemon that ignores it too,
 * prints "ready" once both exist, then waits for ever. Every process keeps the marker in its
 * argv (fork copies it). With "ignore-term" the script itself ignores SIGTERM; with
 * "handle-term" it prints "got SIGTERM" and exits 0.
 */
const tree = [
  "import os, signal, sys, time",
  "if os.fork() == 0:",
  "    signal.signal(signal.SIGTERM, signal.SIG_IGN)",
  "    while True: time.sleep(1)",
  "middle = os.fork()",
  "if middle == 0:",
  "    os.setsid()",
  "    if os.fork() == 0:",
  "        signal.signal(signal.SIGTERM, signal.SIG_IGN)",
  "        while True: time.sleep(1)",
  "    os._exit(0)",
  "os.waitpid(middle, 0)",
  "if sys.argv[2] == 'ignore-term':",
  "    signal.signal(signal.SIGTERM, signal.SIG_IGN)",
  "else:",
  "    def on_term(signum, frame):",
  "        print('got SIGTERM', flush=True)",
  "        sys.exit(0)",
  "    signal.signal(signal.SIGTERM, on_term)",
  "print('ready', flush=True)",
  "while True: time.sleep(1)",
].join("\n");

function treeOptions(marker: string, onTerm: "ignore-term" | "handle-term"): Omit<RunScriptOptions, "onLine"> {
  return {
    command: python.executable,
    args: ["-u", "-c", tree, marker, onTerm],
    cwd: job.dir,
    env: { PATH: "/usr/bin:/bin", LC_ALL: "C.UTF-8" },
    readOnlyPaths: python.prefixes,
    timeoutMs: 60_000,
    graceMs: 500,
  };
}

describe("stopping a sandboxed script", () => {
  it("on timeout kills the script, a SIGTERM-ignoring child and a setsid daemon", async () => {
    const marker = uniqueMarker();
    let seenAtReady: string[] = [];
    const lines: string[] = [];
    const run = runScript({
      ...treeOptions(marker, "ignore-term"),
      timeoutMs: 3000,
      onLine: (_stream, line) => {
        lines.push(line);
        if (line === "ready") seenAtReady = processesWith(marker);
      },
    });
    const result = await run.done;
    expect(lines).toContain("ready");
    // Script, child and daemon (plus bwrap's two processes) were all alive.
    expect(seenAtReady.filter((l) => l.includes("python")).length).toBeGreaterThanOrEqual(3);
    expect(result).toMatchObject({ timedOut: true, cancelled: false, signal: "SIGKILL" });
    expect(await remainingAfterPolls(marker)).toEqual([]);
  });

  it("on cancel through an AbortSignal sends SIGTERM first, then removes every process", async () => {
    const marker = uniqueMarker();
    const controller = new AbortController();
    const lines: string[] = [];
    const run = runScript({
      ...treeOptions(marker, "handle-term"),
      graceMs: 10_000, // ample: the script exits on SIGTERM, so the grace never runs out
      signal: controller.signal,
      onLine: (_stream, line) => {
        lines.push(line);
        if (line === "ready") controller.abort();
      },
    });
    const result = await run.done;
    expect(lines).toEqual(["ready", "got SIGTERM"]);
    expect(result).toMatchObject({ cancelled: true, timedOut: false, exitCode: 0, signal: null });
    expect(await remainingAfterPolls(marker)).toEqual([]);
  });

  it("on kill('cancel') stops a script that ignores SIGTERM after the grace period", async () => {
    const marker = uniqueMarker();
    let ready!: () => void;
    const isReady = new Promise<void>((res) => (ready = res));
    const run = runScript({
      ...treeOptions(marker, "ignore-term"),
      onLine: (_stream, line) => {
        if (line === "ready") ready();
      },
    });
    await isReady;
    run.kill("cancel");
    run.kill("timeout"); // the first reason wins
    const result = await run.done;
    expect(result).toMatchObject({ cancelled: true, timedOut: false, signal: "SIGKILL" });
    expect(await remainingAfterPolls(marker)).toEqual([]);
  });

  it("with an already aborted signal reports the script cancelled and leaves nothing", async () => {
    const marker = uniqueMarker();
    const run = runScript({ ...treeOptions(marker, "ignore-term"), signal: AbortSignal.abort(), onLine: () => {} });
    const result = await run.done;
    expect(result).toMatchObject({ cancelled: true, timedOut: false });
    expect(await remainingAfterPolls(marker)).toEqual([]);
  });

  it("stops the script and rejects when onLine throws", async () => {
    const marker = uniqueMarker();
    const failure = new Error("log sink broke");
    const run = runScript({
      ...treeOptions(marker, "ignore-term"),
      onLine: () => {
        throw failure;
      },
    });
    await expect(run.done).rejects.toBe(failure);
    expect(await remainingAfterPolls(marker)).toEqual([]);
  });

  it("kills the script and its setsid daemon when the runner itself is SIGKILLed", async () => {
    const marker = uniqueMarker();
    const runner = startChildRunner(treeOptions(marker, "ignore-term"));
    await runner.waitFor((r) => r.stream === "stdout" && r.line === "ready");
    expect(processesWith(marker).filter((l) => l.includes("python")).length).toBeGreaterThanOrEqual(3);
    runner.process.kill("SIGKILL");
    await runner.exited;
    expect(await remainingAfterPolls(marker)).toEqual([]);

    // Its cgroup outlived it; the next sandbox started on this machine removes it.
    const support = cgroupSupport();
    if (support.kind === "v1") {
      const leftovers = () => readdirSync(support.platformDirs.pids).filter((n) => n.startsWith(`sbx-${runner.process.pid}-`));
      expect(leftovers()).toHaveLength(1);
      const next = runScript({ ...treeOptions(marker, "ignore-term"), command: "/bin/true", args: [], onLine: () => {} });
      await next.done;
      expect(existsSync(support.platformDirs.pids) ? leftovers() : []).toEqual([]);
    }
  });
});
