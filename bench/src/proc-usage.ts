import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { descendants, procCommandLine, processTable } from "@asgard/infra";

/**
 * What processes cost, read from Linux's /proc: resident memory (RSS, and PSS where
 * smaps_rollup is readable: shared pages split between the processes that map them), CPU
 * time, and the size of a directory on disk.
 */
export interface Memory {
  rss_mib: number;
  /** Null when /proc/<pid>/smaps_rollup cannot be read (another user's process, old kernel). */
  pss_mib: number | null;
}

const kib = (text: string, field: string): number | null => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return match ? Number(match[1]) : null;
};

/** One process's resident memory now; zeros when it is gone. */
export function memoryOf(pid: number): Memory {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const rss = kib(rollup, "Rss");
    const pss = kib(rollup, "Pss");
    if (rss !== null) return { rss_mib: rss / 1024, pss_mib: pss === null ? null : pss / 1024 };
  } catch {
    // Fall back to the status file, which every process lets its owner read.
  }
  try {
    return { rss_mib: (kib(readFileSync(`/proc/${pid}/status`, "utf8"), "VmRSS") ?? 0) / 1024, pss_mib: null };
  } catch {
    return { rss_mib: 0, pss_mib: null };
  }
}

/** CPU time (user + system, ms) of one process so far; 0 when it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (the command) is in parentheses and may hold spaces; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
  } catch {
    return 0;
  }
}

/** Named groups of processes: each root pid with every descendant it has now. */
export function groupsOf(roots: Record<string, number>): Record<string, number[]> {
  const table = processTable();
  return Object.fromEntries(Object.entries(roots).map(([name, pid]) => [name, [pid, ...descendants(pid, table)]]));
}

export interface GroupSample {
  rss_mib: number;
  pss_mib: number | null;
  processes: number;
}

/** The memory of every group now (sums over its processes) and their total. */
export function sampleGroups(groups: Record<string, number[]>): { groups: Record<string, GroupSample>; total: GroupSample } {
  const out: Record<string, GroupSample> = {};
  for (const [name, pids] of Object.entries(groups)) {
    const memories = pids.map(memoryOf).filter((m) => m.rss_mib > 0);
    const pss = memories.every((m) => m.pss_mib !== null) ? memories.reduce((n, m) => n + (m.pss_mib ?? 0), 0) : null;
    out[name] = { rss_mib: memories.reduce((n, m) => n + m.rss_mib, 0), pss_mib: pss, processes: memories.length };
  }
  const all = Object.values(out);
  const total = {
    rss_mib: all.reduce((n, g) => n + g.rss_mib, 0),
    pss_mib: all.every((g) => g.pss_mib !== null) ? all.reduce((n, g) => n + (g.pss_mib ?? 0), 0) : null,
    processes: all.reduce((n, g) => n + g.processes, 0),
  };
  return { groups: out, total };
}

/** CPU time (ms) of every group so far. */
export function groupCpuMs(groups: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, pids.reduce((n, pid) => n + cpuMsOf(pid), 0)]));
}

/** The command lines of a group's processes, for the record of what was measured, without this machine's paths. */
export function commandsOf(pids: number[]): string[] {
  const local = (line: string) =>
    line
      .replaceAll(process.cwd(), ".")
      .replace(new RegExp(`${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/[^/\\s]+`, "g"), "<tmp>")
      .replaceAll(homedir(), "~");
  return pids.map((pid) => local(procCommandLine(pid)).slice(0, 200)).filter((c) => c !== "");
}

/** A directory's size: bytes allocated on disk (`du`), the files' apparent bytes, and the file count. */
export function directorySize(dir: string): { disk_mib: number; apparent_mib: number; files: number } {
  const du = (...flags: string[]) => Number(execFileSync("du", ["-s", ...flags, dir], { encoding: "utf8" }).split("\t")[0]);
  const files = execFileSync("find", [dir, "-type", "f"], { encoding: "utf8", maxBuffer: 256 * 2 ** 20 }).split("\n").filter(Boolean).length;
  return { disk_mib: du("--block-size=1") / 2 ** 20, apparent_mib: du("-b") / 2 ** 20, files };
}
