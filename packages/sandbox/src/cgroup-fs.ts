import { mkdirSync, rmdirSync } from "node:fs";

/** Pieces the cgroup v1 and v2 code share. */

export const CONTROLLERS = ["memory", "pids", "cpu"] as const;
export type Controller = (typeof CONTROLLERS)[number];

/** Under the runner's own cgroup in each hierarchy, so the runner's own limits cover its sandboxes. */
export const PLATFORM_GROUP = "asgard-sandboxes";

/**
 * Whether sandboxes get a cgroup each, and if not, why. v1: one platform group per controller
 * hierarchy; v2: one platform group in the unified hierarchy, under the runner's delegated subtree.
 */
export type CgroupSupport =
  | { kind: "v1"; platformDirs: Record<Controller, string> }
  | { kind: "v2"; platformDir: string }
  | { kind: "none"; reason: string };

/**
 * Creates `dir` inside `platformDir`. Another runner in the same cgroup removes the platform
 * group when its last sandbox ends, which may fall between our two mkdirs: then again.
 */
export function makeGroup(platformDir: string, dir: string): void {
  for (let attempt = 1; ; attempt++) {
    mkdirSync(platformDir, { recursive: true });
    try {
      mkdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 5) throw err;
    }
  }
}

/** Mount paths in mountinfo escape spaces and the like as octal. */
export function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function rmdirQuietly(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Gone already, or still busy/not empty: then it is someone else's to remove.
  }
}
