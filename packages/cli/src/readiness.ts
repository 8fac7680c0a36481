import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

/** What still keeps the platform from being usable; empty once it is. */
export type Missing = string[];

interface Snapshot {
  checked_at?: string;
  components?: { database?: { available?: boolean; error?: string | null } };
  runners?: { live?: number };
}

/**
 * Asks the platform, through its public API, whether a client's first requests would be
 * served — the gateway's own /readyz only says that the gateway pod can answer (NATS and
 * the status snapshot), and must stay per pod for Kubernetes. Usable means:
 * - a status snapshot taken after `since` in which the job-scheduler answered (the
 *   database component is asked of it) and at least one python-runner is live;
 * - the registry answers the model list;
 * - the inference service answers a prediction for a model that does not exist with 404
 *   (a 503 means no inference service is serving).
 */
export async function missingParts(api: string, since: Date): Promise<Missing> {
  const missing: Missing = [];
  const get = async (path: string, init?: RequestInit) => {
    try {
      return await fetch(`${api}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
    } catch {
      return null;
    }
  };
  const ready = await get("/readyz");
  if (ready?.status !== 200) return ["the gateway (/readyz)"];
  const status = await get("/mlops/status");
  const snapshot = status?.status === 200 ? ((await status.json()) as Snapshot) : null;
  if (!snapshot || !snapshot.checked_at || new Date(snapshot.checked_at) < since) {
    missing.push("a status snapshot taken since the start");
  } else {
    if (snapshot.components?.database?.available !== true) missing.push("the job-scheduler");
    if ((snapshot.runners?.live ?? 0) < 1) missing.push("a python-runner");
  }
  if ((await get("/mlops/models"))?.status !== 200) missing.push("the registry");
  const probe = await get("/mlops/inference", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model_name: `asgard-start-probe-${randomBytes(4).toString("hex")}`, inputs: { x: [0] } }),
  });
  if (probe?.status !== 404) missing.push("the inference service");
  return missing;
}

/** Polls until `missingParts` finds nothing; the error names what never came. */
export async function waitUntilUsable(api: string, timeoutMs: number, since = new Date()): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing: Missing = [];
  while (Date.now() < deadline) {
    missing = await missingParts(api, since);
    if (missing.length === 0) return;
    await sleep(500);
  }
  throw new Error(`not usable within ${timeoutMs / 1000} s; still waiting for ${missing.join(", ")} (see the logs folder)`);
}
