import type { StdioOptions } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const O_CLOEXEC = 0o2000000;

/** One entry of a spawn `stdio` array. */
export type StdioEntry = Extract<StdioOptions, readonly unknown[]>[number];

/**
 * File descriptors (>= 3) of this process that a child would inherit: those without
 * O_CLOEXEC, which can only have come from whoever started the runner (Node opens its own
 * with O_CLOEXEC). Neither Node nor bwrap nor setpriv closes them, so a script would get, say,
 * the write end of a supervisor's pipe.
 */
export function inheritableFds(): number[] {
  const fds: number[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc/self/fdinfo");
  } catch {
    return fds;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < 3) continue;
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1];
      if (flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0) fds.push(fd);
    } catch {
      // Closed meanwhile (the fd of the directory listing itself, for one).
    }
  }
  return fds;
}

/**
 * `stdio` extended so that every inheritable fd beyond it is replaced by `devNull` in the
 * child — Node's spawn cannot close an fd in the child, but it can dup2 another over it.
 */
export function stdioCovering(stdio: StdioEntry[], devNull: number, leaked: number[]): StdioEntry[] {
  const out = [...stdio];
  for (const fd of leaked) {
    if (fd < stdio.length) continue;
    while (out.length < fd) out.push("ignore");
    out[fd] = devNull;
  }
  return out;
}
