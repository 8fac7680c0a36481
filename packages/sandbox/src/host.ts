import { accessSync, constants, existsSync, lstatSync, readlinkSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { ETC_PATHS, SYSTEM_PATHS, type HostLayout, type SystemEntry } from "./bwrap-args.js";

/** Where tools run inside the sandbox must live: the sandbox sees only these of the host. */
const SYSTEM_BIN_DIRS = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` in `dirs` (default: the runner's PATH, then the system dirs). */
export function findExecutable(name: string, dirs?: string[]): string | null {
  const fromPath = (process.env.PATH ?? "").split(delimiter).filter((d) => d.startsWith("/"));
  const search = dirs ?? [...fromPath, ...SYSTEM_BIN_DIRS];
  for (const dir of search) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** A tool the sandbox itself runs, so it must be found where the sandbox can see it. */
export function findSystemExecutable(name: string): string | null {
  return findExecutable(name, SYSTEM_BIN_DIRS);
}

/** True when this process runs as root, i.e. can hand the script another uid. */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Which of the host's system directories and /etc files exist, and which are symlinks. */
export function describeHost(): HostLayout {
  const systemEntries: SystemEntry[] = [];
  for (const path of SYSTEM_PATHS) {
    const kind = lstatKind(path);
    if (kind === "dir") systemEntries.push({ path, kind });
    else if (kind === "symlink") systemEntries.push({ path, kind, target: readlinkSync(path) });
  }
  // existsSync follows symlinks: a dangling /etc/resolv.conf link would make bwrap fail.
  const etcPaths = ETC_PATHS.filter((p) => existsSync(p));
  return { systemEntries, etcPaths };
}

function lstatKind(path: string): "dir" | "symlink" | "other" | null {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return "symlink";
    return st.isDirectory() ? "dir" : "other";
  } catch {
    return null;
  }
}
