import type { Bus, TypedKv } from "@asgard/bus";
import { KV, type RateCounts } from "@asgard/contracts";
import type { Logger } from "@asgard/telemetry";
import type { BusRef } from "../bus-ref.js";
import type { PublishedCounts, RateWindows } from "./rate-windows.js";

/** How often a replica publishes its counts: the tolerance between replicas is about this much traffic. */
export const RATE_SHARE_INTERVAL_MS = 1_000;

export interface RateSharing {
  stop(): Promise<void>;
}

/**
 * Shares this replica's rate counts with the other gateway replicas through the
 * `asgard_rate_counts` bucket: every `intervalMs` it publishes its counts of the current
 * window (when they changed), and it follows the bucket to add the others' to its own.
 * Nothing here is on a request's path; while NATS is away each replica counts alone.
 */
export function shareRateCounts(opts: {
  bus: BusRef;
  windows: RateWindows;
  replica: string;
  logger: Logger;
  intervalMs?: number;
}): RateSharing {
  const interval = opts.intervalMs ?? RATE_SHARE_INTERVAL_MS;
  let bucket: TypedKv<RateCounts> | null = null;
  let watch: { stop(): Promise<void> } | null = null;
  let failing = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  const follow = async (bus: Bus): Promise<TypedKv<RateCounts>> => {
    const kv = await bus.kv(KV.rateCounts);
    watch = kv.watchAll((replica, counts) => {
      if (replica !== opts.replica) opts.windows.merge(replica, counts);
    });
    return kv;
  };

  const tick = async () => {
    const bus = opts.bus.current;
    if (!bus?.isConnected()) return;
    let changes: PublishedCounts | null = null;
    try {
      bucket ??= await follow(bus);
      changes = opts.windows.takeChanges(Date.now());
      if (changes) await bucket.put(opts.replica, { replica: opts.replica, ...changes, published_at: new Date().toISOString() });
      if (failing) opts.logger.info({ replica: opts.replica }, "rate counts are shared with the other gateway replicas again");
      failing = false;
    } catch (err) {
      if (changes) opts.windows.republish();
      if (!failing) opts.logger.warn({ err, replica: opts.replica }, "rate counts could not be shared; this replica counts alone until NATS answers");
      failing = true;
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, interval);
    // The loop never keeps a process alive on its own.
    timer.unref();
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await watch?.stop();
    },
  };
}
