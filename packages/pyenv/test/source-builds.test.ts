import { readFileSync } from "node:fs";
import { lstat, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RESOURCE_MAXIMA } from "@asgard/contracts";
import { sandboxedSourceBuilds, sourceBuildLimits } from "../src/index.js";
import { exec, freshRoot, testManager } from "./helpers.js";

let root: string;

beforeAll(async () => {
  root = await freshRoot("source-builds");
});

/** Entries of a tree that another user owns, or that others may write (symlinks themselves, not their targets). */
async function writableByOthers(dir: string, uid: number): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await lstat(path);
    if (info.uid !== uid || (!info.isSymbolicLink() && (info.mode & 0o7022) !== 0)) out.push(path);
    if (info.isDirectory()) out.push(...(await writableByOthers(path, uid)));
  }
  return out;
}

describe("source builds, opted in (real PyPI, real sandbox)", () => {
  it("builds an sdist-only requirement in the sandbox and publishes an env only the runner's user owns and may write", async () => {
    const sourceBuilds = sandboxedSourceBuilds({ uid: 65534, gid: 65534, timeoutMs: 600_000, limits: sourceBuildLimits(DEFAULT_RESOURCE_MAXIMA) });
    const manager = await testManager(join(root, "cache"), { sourceBuilds });
    const wheelsOnly = await testManager(join(root, "cache"));
    expect(await manager.requestKey(["docopt==0.6.2"])).not.toBe(await wheelsOnly.requestKey(["docopt==0.6.2"]));

    const lines: string[] = [];
    const lease = await manager.acquire(["docopt==0.6.2"], { onLog: (line) => lines.push(line) });
    try {
      const run = await exec(lease.python, ["-c", "import docopt; print(docopt.__version__)"]);
      expect(run).toMatchObject({ code: 0, out: "0.6.2\n" });
      expect(lines.join("\n")).toMatch(/docopt==0\.6\.2/);
      expect(await writableByOthers(lease.path, process.getuid?.() ?? 0)).toEqual([]);
      expect(await readdir(lease.path)).not.toContain(".asgard-build");
    } finally {
      await lease.release();
    }
  }, 600_000);

  it("runs a build within a job's bounds at the deployment's maxima: its own CPU and memory groups, and a scratch /tmp of the disk maximum", async () => {
    const limits = sourceBuildLimits({ memoryMb: 512, cpus: 0.5, processes: 64, diskMb: 16 });
    const builds = sandboxedSourceBuilds({ uid: 65534, gid: 65534, timeoutMs: 120_000, limits });
    const dir = join(root, "probe");
    await mkdir(dir, { recursive: true });
    // Read while the build runs: its cgroups are removed when it ends.
    const seen: Record<string, string> = {};
    const result = await builds.run(
      "/bin/sh",
      [
        "-c",
        "cat /proc/self/cgroup; sleep 1; " +
          "head -c 8388608 /dev/zero > /tmp/half && echo half-fits; head -c 16777216 /dev/zero > /tmp/more || echo scratch-full",
      ],
      {
        cwd: dir,
        env: { PATH: "/usr/bin:/bin" },
        readOnlyPaths: [],
        signal: undefined,
        what: "probe",
        onLine: (line) => {
          const group = /^\d+:([^:]+):(\/(?:.+\/)?asgard-sandboxes\/.+)$/.exec(line);
          if (!group) return;
          for (const controller of (group[1] as string).split(",")) {
            const file = { cpu: "cpu.cfs_quota_us", memory: "memory.limit_in_bytes", pids: "pids.max" }[controller];
            const mount = file === undefined ? undefined : v1Mount(controller);
            if (file !== undefined && mount !== undefined) seen[controller] = readFileSync(join(mount, group[2] as string, file), "utf8").trim();
          }
        },
      },
    );
    expect(result.stdout).toContain("half-fits");
    expect(result.stdout).toContain("scratch-full");
    expect(seen).toEqual({ cpu: "50000", memory: String(512 * 1024 * 1024), pids: "64" });
  }, 180_000);
});

/** Where this machine mounts the cgroup v1 hierarchy of `controller` (these tests run on v1). */
function v1Mount(controller: string): string | undefined {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [pre, post] = line.split(" - ");
    const [type, , options] = (post ?? "").split(" ");
    if (type === "cgroup" && options?.split(",").includes(controller)) return pre?.split(" ")[4];
  }
  return undefined;
}
