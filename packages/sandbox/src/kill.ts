import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The `/proc/<pid>/ns/pid` link text of a PID namespace, from its inode number. */
export function pidNamespaceLink(inode: number): string {
  return `pid:[${inode}]`;
}

/** Pids (as seen from this process) of every process in the given PID namespace. */
export function pidsInNamespace(nsLink: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (namespaceOf(pid) === nsLink) pids.push(pid);
  }
  return pids;
}

function namespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    // Gone meanwhile, or not ours to inspect (then it is not in a sandbox we started either).
    return null;
  }
}

/**
 * Sends `signal` to every process of a sandbox's PID namespace except those in `except`.
 *
 * Why not signal bwrap: SIGTERM to the outer bwrap kills it, and --die-with-parent then
 * SIGKILLs the namespace at once, so the script gets no grace; the namespace's init (bwrap
 * again) ignores SIGTERM. Each pid is re-checked right before the signal so a pid reused by
 * an unrelated process after the scan is left alone. `exceptInside` names processes by their
 * pid inside the namespace: the sandbox's init (pid 2 there) passes signals on to the script
 * itself, which would otherwise get each one twice.
 */
export function signalNamespace(
  nsLink: string,
  signal: NodeJS.Signals,
  except: number[],
  exceptInside: number[] = [],
): number {
  let sent = 0;
  for (const pid of pidsInNamespace(nsLink)) {
    if (except.includes(pid) || pid <= 1 || pid === process.pid) continue;
    if (exceptInside.length > 0 && exceptInside.includes(pidInsideNamespace(pid) ?? -1)) continue;
    if (namespaceOf(pid) !== nsLink) continue;
    if (signalPid(pid, signal)) sent++;
  }
  return sent;
}

/** The innermost pid of a process (its pid in its own PID namespace), from /proc/<pid>/status. */
export function pidInsideNamespace(pid: number): number | null {
  try {
    const line = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    const innermost = line?.trim().split(/\s+/).at(-1);
    return innermost === undefined ? null : Number(innermost);
  } catch {
    return null;
  }
}

/**
 * `kill(pid, signal)`; false when the process is already gone (ESRCH) or not ours (EPERM).
 * Never throws: it runs from timers, where an exception would take the whole runner down.
 */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** `kill(-pgid, signal)`; false when the group has no member left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return signalPid(-pgid, signal);
}
