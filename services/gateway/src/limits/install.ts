import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import { Counter, type Logger, type Registry } from "@asgard/telemetry";
import type { BusRef } from "../bus-ref.js";
import { limitLogStreams } from "./log-streams.js";
import { enforceRateLimit } from "./rate-limit.js";
import { shareRateCounts } from "./rate-sharing.js";
import { RateWindows } from "./rate-windows.js";
import { DEFAULT_LIMITS, type LimitSettings } from "./settings.js";

/** A replica's name in the rate-count bucket: host and pid for people, random bytes against reuse. */
export function newReplicaId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 60);
  return `${host}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/**
 * Installs the per-key limits in front of every route registered after it: the request rate
 * (shared between replicas through NATS in the background) and concurrent log streams.
 */
export async function installLimits(
  app: FastifyInstance,
  deps: { bus: BusRef; logger: Logger; metrics: Registry; limits?: Partial<LimitSettings>; replicaId?: string; rateWindows?: RateWindows },
): Promise<void> {
  const settings: LimitSettings = { ...DEFAULT_LIMITS, ...deps.limits };
  const refusals = new Counter({
    name: "asgard_gateway_limit_refusals_total",
    help: "Requests refused with 429 by a per-key limit",
    labelNames: ["limit"],
    registers: [deps.metrics],
  });
  const windows = deps.rateWindows ?? new RateWindows(settings.rateWindowSeconds * 1000);
  await enforceRateLimit(app, { settings, windows, onRefused: () => refusals.inc({ limit: "request_rate" }) });
  limitLogStreams(app, settings, { onRefused: () => refusals.inc({ limit: "log_streams" }) });
  const sharing = shareRateCounts({ bus: deps.bus, windows, replica: deps.replicaId ?? newReplicaId(), logger: deps.logger });
  app.addHook("onClose", async () => sharing.stop());
}
