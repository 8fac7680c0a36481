import { setTimeout as sleep } from "node:timers/promises";
import type { Bus, TypedKv } from "@asgard/bus";
import { KV, STATUS_SNAPSHOT_KEY } from "@asgard/contracts";

/** What still keeps the platform from being usable; empty once it is. */
export type Missing = string[];

/** The parts of the status snapshot (`GET /mlops/status`) that say whether clients would be served. */
export interface Snapshot {
  checked_at?: string;
  runners?: { live?: number };
  services?: Record<"job_scheduler" | "registry" | "inference", { available?: boolean; error?: string | null }>;
}

const SERVICE_NAMES = { job_scheduler: "the job-scheduler", registry: "the registry", inference: "the inference service" } as const;

/**
 * Asks the platform whether a client's first requests would be served. The gateway's
 * /readyz only says that this gateway pod can answer (NATS and the status snapshot) and
 * stays per pod for Kubernetes; usable is a platform-level fact, read from a status
 * snapshot taken after `since`: the job-scheduler, the registry and the inference service
 * answered the status service on the bus, and at least one python-runner is live.
 */
export async function missingParts(api: string, since: Date, readSnapshot: () => Promise<Snapshot | null>): Promise<Missing> {
  const get = async (path: string) => {
    try {
      return await fetch(`${api}${path}`, { signal: AbortSignal.timeout(10_000) });
    } catch {
      return null;
    }
  };
  if ((await get("/readyz"))?.status !== 200) return ["the gateway (/readyz)"];
  const snapshot = await readSnapshot().catch(() => null);
  if (!snapshot?.checked_at || new Date(snapshot.checked_at) < since) return ["a status snapshot taken since the start"];
  if (!snapshot.services) return ["a status service that reports the services"];
  const missing: Missing = [];
  for (const [key, name] of Object.entries(SERVICE_NAMES)) {
    const health = snapshot.services[key as keyof typeof SERVICE_NAMES];
    if (health?.available !== true) missing.push(health?.error ? `${name} (${health.error})` : name);
  }
  if ((snapshot.runners?.live ?? 0) < 1) missing.push("a python-runner");
  return missing;
}

/** Polls until `missingParts` finds nothing; the error names what never came. */
export async function waitUntilUsable(api: string, timeoutMs: number, readSnapshot: () => Promise<Snapshot | null>, since = new Date()): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing: Missing = [];
  while (Date.now() < deadline) {
    missing = await missingParts(api, since, readSnapshot);
    if (missing.length === 0) return;
    await sleep(500);
  }
  throw new Error(`not usable within ${timeoutMs / 1000} s; still waiting for ${missing.join(", ")} (see the logs folder)`);
}

/**
 * The snapshot `GET /mlops/status` answers with, read where the gateway reads it (the status
 * bucket): the API wants a key for it once keys exist, which npm start need not hold.
 */
export function statusSnapshotReader(bus: Bus): () => Promise<Snapshot | null> {
  // Bound, never made: the status service owns the bucket and makes it after its first round,
  // and npm start reads as the gateway, which may not create it. Until then a read fails ("not yet").
  let bucket: TypedKv<Snapshot> | null = null;
  return async () => {
    bucket ??= await bus.kv(KV.status, { create: false });
    return bucket.get(STATUS_SNAPSHOT_KEY);
  };
}
