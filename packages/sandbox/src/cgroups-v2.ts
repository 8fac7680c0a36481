import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CONTROLLERS, makeGroup, PLATFORM_GROUP, rmdirQuietly, unescapeMountPath, type CgroupSupport } from "./cgroup-fs.js";

/**
 * Where the runner's own processes go when its cgroup must hand its controllers down: cgroup v2
 * lets a group enable controllers for its children only while it holds no process itself (the
 * "no internal processes" rule), so a runner alone in its container's group moves into a leaf.
 */
export const RUNNER_LEAF = "asgard-runner";

const ENABLE = CONTROLLERS.map((c) => `+${c}`).join(" ");

/** This process's directory in the unified (v2) hierarchy, or null when there is none. */
export function v2Directory(mountinfo: string, ownGroups: string): string | null {
  const own = /^0::(\/.*)$/m.exec(ownGroups)?.[1];
  if (own === undefined) return null;
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (pre === undefined || post === undefined || post.split(" ")[0] !== "cgroup2") continue;
    const fields = pre.split(" ");
    const root = fields[3];
    const mountPoint = fields[4];
    if (root === undefined || mountPoint === undefined) continue;
    const mountRoot = unescapeMountPath(root);
    const inside = mountRoot !== "/" && own.startsWith(mountRoot) ? own.slice(mountRoot.length) : own;
    return resolve(unescapeMountPath(mountPoint), `.${inside}`);
  }
  return null;
}

/**
 * Makes `dir` (the runner's own group, delegated to it: a Kubernetes pod's cgroup namespace
 * mounted read-write, or a systemd unit with `Delegate=yes`) give each sandbox a group with
 * memory, pids and cpu under `dir/asgard-sandboxes`. Moves the runner into {@link RUNNER_LEAF}
 * when `dir` must be emptied of processes first.
 */
export function detectV2(dir: string): CgroupSupport {
  let offered: string[];
  try {
    offered = readFileSync(join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/);
  } catch (err) {
    return { kind: "none", reason: `cannot read the cgroup v2 group ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  const missing = CONTROLLERS.filter((c) => !offered.includes(c));
  if (missing.length > 0) {
    return { kind: "none", reason: `the cgroup v2 group ${dir} is not delegated the ${missing.join(", ")} controller(s)` };
  }
  const platformDir = join(dir, PLATFORM_GROUP);
  const probe = join(platformDir, `probe-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    enableForChildren(dir);
    makeGroup(platformDir, probe);
    enableControllers(platformDir);
    rmdirSync(probe);
  } catch (err) {
    rmdirQuietly(probe);
    rmdirQuietly(platformDir);
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return { kind: "none", reason: `cannot create cgroup v2 groups under ${dir} (${code}): the runner needs its cgroup delegated, read-write` };
  }
  rmdirQuietly(platformDir);
  return { kind: "v2", platformDir };
}

/** Enables the controllers in `dir`'s children; EBUSY means `dir` holds processes: move them to a leaf first. */
function enableForChildren(dir: string): void {
  try {
    enableControllers(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EBUSY") throw err;
    const leaf = join(dir, RUNNER_LEAF);
    mkdirSync(leaf, { recursive: true });
    const pids = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter((l) => l.length > 0);
    for (const pid of pids) writeFileSync(join(leaf, "cgroup.procs"), pid);
    enableControllers(dir);
  }
}

/** Lets `dir`'s child groups use memory, pids and cpu (idempotent). */
export function enableControllers(dir: string): void {
  writeFileSync(join(dir, "cgroup.subtree_control"), ENABLE);
}
