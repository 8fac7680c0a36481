import { readdirSync, readFileSync } from "node:fs";

/** One line of the process table, as Linux's /proc/<pid>/stat gives it. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks after boot; with the pid it names one process even when pids are reused. */
  startTime: number;
}

/** The process `pid` as /proc sees it now, or null when it does not run (or this is not Linux). */
export function procEntry(pid: number): ProcEntry | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): ppid is field 4, pgrp 5, starttime 22.
    if (fields[0] === "Z") return null;
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), startTime: Number(fields[19]) };
  } catch {
    return null;
  }
}

/** The command line of a running process, arguments joined by spaces ("" when unknown). */
export function procCommandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Every live process. */
export function processTable(): ProcEntry[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+$/.test(n)).map((n) => procEntry(Number(n))).filter((e): e is ProcEntry => e !== null);
}

/** The pids of every live descendant of `pid` (children, their children, …). */
export function descendants(pid: number, table = processTable()): number[] {
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next = table.filter((e) => frontier.includes(e.ppid)).map((e) => e.pid);
    found.push(...next);
    frontier = next;
  }
  return found;
}

/** The pids of the live members of a process group. */
export function groupMembers(pgid: number, table = processTable()): number[] {
  return table.filter((e) => e.pgid === pgid).map((e) => e.pid);
}
