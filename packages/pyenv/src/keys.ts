import { createHash } from "node:crypto";

/** What the interpreter reports about itself; part of both cache keys. */
export interface InterpreterInfo {
  implementation: string;
  /** Exact version, e.g. "3.11.7": a patch upgrade gets new locks and envs. */
  version: string;
  /** platform.system(), e.g. "Linux". */
  system: string;
  /** platform.machine(), e.g. "x86_64". */
  machine: string;
}

/** Printed by the interpreter as one JSON line; see {@link parseInterpreterInfo}. */
export const PROBE_SCRIPT =
  "import json, platform; print(json.dumps({'implementation': platform.python_implementation(), " +
  "'version': platform.python_version(), 'system': platform.system(), 'machine': platform.machine()}))";

export function parseInterpreterInfo(stdout: string): InterpreterInfo {
  const lines = stdout.trim().split("\n");
  const parsed: unknown = JSON.parse(lines[lines.length - 1] ?? "");
  const o = parsed as Partial<Record<keyof InterpreterInfo, unknown>>;
  for (const field of ["implementation", "version", "system", "machine"] as const) {
    if (typeof o[field] !== "string" || o[field] === "") throw new Error(`the interpreter reported no ${field}`);
  }
  return { implementation: o.implementation as string, version: o.version as string, system: o.system as string, machine: o.machine as string };
}

/**
 * Bumped when the meaning of a key changes, so old cache entries are simply not found; the
 * layout keeps each format in its own folder, and a manager purges older ones on start.
 * 2: environments hold binary wheels only (format 1 may have built source distributions,
 * outside any sandbox), so nothing of format 1 is ever reused.
 */
export const KEY_FORMAT = 2;

function sha256(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/**
 * Names the cached lock: everything that decides what `uv pip compile` would answer.
 * `requirements` and `pins` must already be normalized (see `normalizeRequirements`).
 */
export function requestKeyOf(input: {
  requirements: readonly string[];
  pins: readonly string[];
  interpreter: InterpreterInfo;
  indexUrl: string | undefined;
  /** The platform constraint set's version; absent = none, and the key is what it was before constraints existed. */
  constraints?: string | undefined;
  /** Packages left out of the resolution (normalized names); empty or absent leaves the key as before. */
  excludes?: readonly string[];
  /** Source distributions allowed (built in the sandbox): the resolution may pick versions without wheels. False or absent leaves the key as before. */
  sourceBuilds?: boolean;
}): string {
  const { interpreter: i } = input;
  return sha256({
    v: KEY_FORMAT,
    kind: "request",
    requirements: input.requirements,
    pins: input.pins,
    python: `${i.implementation}-${i.version}`,
    platform: `${i.system}-${i.machine}`,
    index: input.indexUrl ?? "",
    ...(input.constraints ? { constraints: input.constraints } : {}),
    ...(input.excludes && input.excludes.length > 0 ? { excludes: input.excludes } : {}),
    ...(input.sourceBuilds ? { sourceBuilds: true } : {}),
  });
}

/**
 * The lock reduced to what it installs: comments and blank lines dropped, lines trimmed and
 * sorted. Two requests that resolve to the same set of pinned distributions get the same text.
 */
export function canonicalLock(lockText: string): string {
  return lockText
    .split("\n")
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter((line) => line !== "")
    .sort()
    .join("\n");
}

/**
 * Names the env: the exact set it installs, for this interpreter on this platform, under this
 * constraint set (a new set never reuses an env built under the old one, even where the two
 * happen to lock alike), and, for an env built from source, for this scope only.
 */
export function envKeyOf(lockText: string, interpreter: InterpreterInfo, constraints?: string, scope?: string): string {
  const i = interpreter;
  return sha256({
    v: KEY_FORMAT,
    kind: "env",
    lock: canonicalLock(lockText),
    python: `${i.implementation}-${i.version}`,
    platform: `${i.system}-${i.machine}`,
    ...(constraints ? { constraints } : {}),
    ...(scope !== undefined ? { scope } : {}),
  });
}

/** The distributions a lock pins, name (PEP 503) → version: what an env built from it holds. */
export function lockedPackages(lockText: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of canonicalLock(lockText).split("\n")) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$/.exec(line);
    if (m) out[(m[1] as string).toLowerCase().replace(/[-_.]+/g, "-")] = m[2] as string;
  }
  return out;
}
