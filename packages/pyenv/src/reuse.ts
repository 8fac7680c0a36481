import { readdir, readFile, stat } from "node:fs/promises";
import { ENV_KEY, envMetaFile, usedMarker, type Layout } from "./layout.js";
import { unsatisfied } from "./satisfy.js";

/**
 * What `buildEnv` records beside each env (`envs/<envKey>.json`). Envs built before these
 * fields existed lack them and are never offered for reuse.
 */
export interface EnvMeta {
  created_at: string;
  bytes: number;
  /** `<implementation>-<version>` and `<system>-<machine>` of the interpreter it was built for. */
  python?: string;
  platform?: string;
  /** Version of the constraint set it was resolved under; absent: none. */
  constraints?: string;
  /** The resolved set: every distribution the env holds, PEP 503 name → exact version. */
  packages?: Record<string, string>;
  /** Who it was built for (`AcquireOptions.scope`); absent: no one in particular. */
  scope?: string;
}

export interface ReuseQuery {
  python: string;
  platform: string;
  constraints: string | undefined;
  /** Only envs built for this scope are offered: another's may hold packages this one never asked for. */
  scope: string | undefined;
  /** Normalized requirements and pins; every one must hold in the env. */
  requirements: readonly string[];
}

/**
 * Published envs whose resolved set satisfies every requirement, for the same interpreter and
 * under the same constraint set (so a new set never serves from an env built under the old),
 * most recently used first. The caller leases a candidate before trusting it still exists.
 */
export async function satisfyingEnvs(layout: Layout, query: ReuseQuery): Promise<string[]> {
  const names = await readdir(layout.envs).catch(() => [] as string[]);
  const found: { envKey: string; usedMs: number }[] = [];
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    const envKey = name.slice(0, -".json".length);
    if (!ENV_KEY.test(envKey)) continue;
    const meta = await readMeta(layout, envKey);
    if (!meta?.packages || meta.python !== query.python || meta.platform !== query.platform) continue;
    if ((meta.constraints ?? undefined) !== query.constraints) continue;
    if ((meta.scope ?? undefined) !== query.scope) continue;
    if (unsatisfied(query.requirements, meta.packages).length > 0) continue;
    const used = await stat(usedMarker(layout, envKey)).catch(() => null);
    found.push({ envKey, usedMs: used?.mtimeMs ?? 0 });
  }
  return found.sort((a, b) => b.usedMs - a.usedMs || a.envKey.localeCompare(b.envKey)).map((f) => f.envKey);
}

async function readMeta(layout: Layout, envKey: string): Promise<EnvMeta | null> {
  try {
    return JSON.parse(await readFile(envMetaFile(layout, envKey), "utf8")) as EnvMeta;
  } catch {
    return null;
  }
}
