import type { Bus } from "@asgard/bus";
import { isLoopbackBind } from "@asgard/config";
import { keyState, KV } from "@asgard/contracts";
import type { StartEnv } from "./env.js";

/** The gateway settings that decide whether the platform serves with API keys. */
export interface GatewaySettings {
  HOST?: string | undefined;
  BOOTSTRAP_ADMIN_KEY?: string | undefined;
}

/**
 * Why this start serves with API keys, or null for local mode. A gateway on another address
 * refuses to start without a key, a bootstrap key makes one, and a key created in an earlier
 * run (`npm run keys -- create`) is still in the key bucket: each of them means callers are
 * told apart by tenant, and MLflow must keep those tenants apart too.
 */
export async function keyedReason(gateway: GatewaySettings, activeKeyStored: () => Promise<boolean>): Promise<string | null> {
  if (gateway.HOST !== undefined && gateway.HOST !== "" && !isLoopbackBind(gateway.HOST)) return `the gateway binds ${gateway.HOST}`;
  if (gateway.BOOTSTRAP_ADMIN_KEY) return "BOOTSTRAP_ADMIN_KEY is set";
  if (await activeKeyStored()) return "an API key exists";
  return null;
}

/** Whether the embedded MLflow runs its basic-auth app: `auto` follows API keys. */
export async function mlflowAuthOn(
  mode: StartEnv["MLFLOW_AUTH"],
  gateway: GatewaySettings,
  activeKeyStored: () => Promise<boolean>,
): Promise<boolean> {
  if (mode !== "auto") return mode === "basic";
  return (await keyedReason(gateway, activeKeyStored)) !== null;
}

/** Whether the key bucket holds an active key, read as the gateway reads it. */
export async function activeKeyInBucket(bus: Bus): Promise<boolean> {
  const bucket = await bus.kv(KV.apiKeys);
  const now = Date.now();
  let active = false;
  const watch = bucket.watchAll((_id, record) => {
    if (record !== null && keyState(record, now) === "active") active = true;
  });
  await watch.ready;
  await watch.stop();
  return active;
}
