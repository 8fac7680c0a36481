import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SandboxError } from "./errors.js";
import { findSystemExecutable } from "./host.js";

const FILTER_SCRIPT = fileURLToPath(new URL("./sandbox-python/seccomp_filter.py", import.meta.url));
const COMPILE_TIMEOUT_MS = 30_000;
/** A BPF instruction is 8 bytes; the kernel takes at most 4096 of them. */
const BPF_INSTRUCTION_BYTES = 8;
const BPF_MAX_INSTRUCTIONS = 4096;

let compiled: { program: Buffer } | { error: SandboxError } | undefined;

/**
 * The sandbox's seccomp filter as a BPF program (see sandbox-python/seccomp_filter.py for what it
 * denies). Compiled once per process by the system python3 with Debian's python3-seccomp —
 * which binds /usr/bin/python3, not whatever Python is first on PATH. A failure is cached
 * too: the runner reports it at start-up and takes no jobs.
 */
export function seccompProgram(): Buffer {
  compiled ??= compile();
  if ("error" in compiled) throw compiled.error;
  return compiled.program;
}

function compile(): { program: Buffer } | { error: SandboxError } {
  const python = findSystemExecutable("python3");
  if (python === null) {
    return { error: new SandboxError("UNAVAILABLE", "no python3 in /usr/bin or /bin to compile the seccomp filter: apt-get install python3-seccomp") };
  }
  let program: Buffer;
  try {
    // -I: no user site-packages and no PYTHON* variables; Debian's dist-packages stay on the path.
    program = execFileSync(python, ["-I", FILTER_SCRIPT], { env: {}, stdio: ["ignore", "pipe", "pipe"], timeout: COMPILE_TIMEOUT_MS });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "");
    const reason = /No module named .?seccomp/.test(stderr)
      ? "python3-seccomp is not installed: apt-get install python3-seccomp"
      : `compiling it failed: ${stderr.trim().split("\n").at(-1) ?? String(err)}`;
    return { error: new SandboxError("UNAVAILABLE", `no seccomp filter for the sandbox: ${reason}`, { cause: err }) };
  }
  const instructions = program.length / BPF_INSTRUCTION_BYTES;
  if (program.length === 0 || !Number.isInteger(instructions) || instructions > BPF_MAX_INSTRUCTIONS) {
    return { error: new SandboxError("UNAVAILABLE", `the seccomp compiler produced ${program.length} bytes, not a BPF program`) };
  }
  return { program };
}
