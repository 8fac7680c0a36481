const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * What one sandbox may use. Memory, processes and CPU are enforced per sandbox by a cgroup
 * where the runner can create one (see `checkSandbox().limits`); the rest are rlimits of
 * every process in it and tmpfs sizes.
 */
export interface ResourceLimits {
  /**
   * Memory of all the sandbox's processes together, including what they keep in `/tmp` and
   * `/dev/shm` (tmpfs pages are charged to the sandbox). Past it the kernel kills a process
   * of the sandbox and the result's `limitExceeded` is `"memory"`. Default 4 GiB.
   * Without cgroups: RLIMIT_DATA of each process instead (a bound per process, not per sandbox).
   */
  memoryBytes: number;
  /**
   * Processes and threads of the sandbox together (cgroup `pids.max`); a fork or thread
   * beyond it fails with EAGAIN. Default 1024. Without cgroups: RLIMIT_NPROC, which the
   * kernel counts per uid — across every sandbox running as the same uid.
   */
  pids: number;
  /**
   * CPU time per second of wall-clock time, in CPUs (1.5 = one and a half cores), enforced by
   * the CFS quota. Default null: no cap beyond the machine. Not enforced without cgroups.
   */
  cpus: number | null;
  /** Largest file a process may write (RLIMIT_FSIZE). Default 8 GiB. */
  fileSizeBytes: number;
  /** Open files per process (RLIMIT_NOFILE). Default 4096. */
  openFiles: number;
  /** Size of the private `/tmp` (tmpfs, counted in `memoryBytes`). Default 1 GiB. */
  tmpBytes: number;
  /** Size of the private `/dev/shm` (tmpfs, counted in `memoryBytes`). Default 256 MiB. */
  shmBytes: number;
  /**
   * Total size of the working directory. Set, the script's `cwd` is a tmpfs of this size
   * (counted in `memoryBytes`, like `/tmp`) holding read-only binds of what the host's `cwd`
   * held at start; what the script writes there is gone when it ends. Default null: the host's
   * `cwd` itself, bounded per file only (`fileSizeBytes`). bwrap mode only.
   */
  workDirBytes: number | null;
}

export const DEFAULT_LIMITS: Readonly<ResourceLimits> = Object.freeze({
  memoryBytes: 4 * GiB,
  pids: 1024,
  cpus: null,
  fileSizeBytes: 8 * GiB,
  openFiles: 4096,
  tmpBytes: 1 * GiB,
  shmBytes: 256 * MiB,
  workDirBytes: null,
});

/** Below these a Python script cannot even start (interpreter, init, a few threads). */
const MINIMUM: Record<Exclude<keyof ResourceLimits, "cpus" | "workDirBytes">, number> = {
  memoryBytes: 32 * MiB,
  pids: 8,
  fileSizeBytes: 1 * MiB,
  openFiles: 64,
  tmpBytes: 1 * MiB,
  shmBytes: 1 * MiB,
};

/** The limits of one sandbox: `requested` over the defaults, checked. */
export function resolveLimits(requested: Partial<ResourceLimits> = {}): ResourceLimits {
  const limits: ResourceLimits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(requested) as Array<[keyof ResourceLimits, unknown]>) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`unknown resource limit ${JSON.stringify(key)}`);
    if (key === "cpus") {
      if (value !== null && (typeof value !== "number" || !Number.isFinite(value) || value < 0.01)) {
        throw new RangeError(`limits.cpus must be null or a number >= 0.01, got ${String(value)}`);
      }
      limits.cpus = value;
      continue;
    }
    if (key === "workDirBytes") {
      if (value !== null && (typeof value !== "number" || !Number.isSafeInteger(value) || value < MiB)) {
        throw new RangeError(`limits.workDirBytes must be null or an integer >= ${MiB}, got ${String(value)}`);
      }
      limits.workDirBytes = value;
      continue;
    }
    const min = MINIMUM[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
      throw new RangeError(`limits.${key} must be an integer >= ${min}, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}

/**
 * `prlimit` options for every process of the sandbox (soft = hard, so the script cannot raise
 * them). Core dumps are off: a crashing training script would otherwise write its whole
 * memory into the working directory. With `perSandbox` false (no cgroups), memory and
 * process count fall back to the per-process and per-uid rlimits.
 */
export function rlimitOptions(limits: ResourceLimits, perSandbox: boolean): string[] {
  const options = [`--fsize=${limits.fileSizeBytes}`, `--nofile=${limits.openFiles}`, "--core=0"];
  if (!perSandbox) options.push(`--data=${limits.memoryBytes}`, `--nproc=${limits.pids}`);
  return options;
}

/** A limit a script can run into, as results name it. */
export type LimitName = "memory" | "pids" | "file_size" | "disk";

/** 128 + SIGXFSZ: how a sandbox reports a script the kernel killed for writing past RLIMIT_FSIZE. */
const FILE_SIZE_EXIT_CODE = 128 + 25;

/** What the sandbox observed about its limits during one run. */
export interface LimitEvidence {
  exitCode: number | null;
  signal: string | null;
  /** Stopped by the runner (timeout or cancel): then that, not a limit, is why it ended. */
  stopped: boolean;
  /** OOM kills at the sandbox's memory limit (cgroup). */
  oomKills: number;
  /** Forks and threads refused at the process limit (cgroup). */
  pidsRefused: number;
  /** The script reported ENOSPC: its working directory, /tmp or /dev/shm (all sized tmpfs) was full. */
  noSpace: boolean;
}

/**
 * Every limit met, and the one to blame for a failure: a memory kill first (it is final and
 * unambiguous), then SIGXFSZ, then a full tmpfs, then refused forks (a script may survive the
 * last two, so they count only when it failed).
 */
export function judgeLimits(e: LimitEvidence): { limitsHit: LimitName[]; limitExceeded: LimitName | null } {
  const limitsHit: LimitName[] = [];
  if (e.oomKills > 0) limitsHit.push("memory");
  if (e.pidsRefused > 0) limitsHit.push("pids");
  if (e.exitCode === FILE_SIZE_EXIT_CODE || e.signal === "SIGXFSZ") limitsHit.push("file_size");
  if (e.noSpace) limitsHit.push("disk");
  const failed = !e.stopped && e.exitCode !== 0;
  if (!failed) return { limitsHit, limitExceeded: null };
  const order: LimitName[] = ["memory", "file_size", "disk", "pids"];
  return { limitsHit, limitExceeded: order.find((l) => limitsHit.includes(l)) ?? null };
}
