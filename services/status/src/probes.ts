import { CONSUMERS, RPC, type ComponentHealth, type DatabaseHealth, type QueueDepth, type RpcDef, type RpcRequest } from "@asgard/contracts";
import { RemoteError, type Bus } from "@asgard/bus";
import type { MlflowClient } from "@asgard/mlflow";
import type { FeatureStoreProbe } from "./feast-registry.js";
import { withTimeout } from "./timeout.js";

export interface MlflowProbeResult extends ComponentHealth {
  activeExperiments: number | null;
  registeredModels: number | null;
}

const now = () => new Date().toISOString();
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Health plus the two counts the status reports; all three calls share one budget. */
export async function probeMlflow(mlflow: MlflowClient, timeoutMs: number): Promise<MlflowProbeResult> {
  const started = performance.now();
  try {
    return await withTimeout("MLflow", timeoutMs, async (signal) => {
      const ping = await mlflow.ping({ timeoutMs, signal });
      if (!ping.ok) throw new Error(ping.error ?? "health check failed");
      const [activeExperiments, registeredModels] = await Promise.all([
        mlflow.countExperiments("ACTIVE_ONLY", undefined, { timeoutMs, signal }),
        mlflow.countRegisteredModels(undefined, { timeoutMs, signal }),
      ]);
      return {
        available: true,
        latency_ms: round(performance.now() - started),
        checked_at: now(),
        error: null,
        activeExperiments,
        registeredModels,
      };
    });
  } catch (err) {
    return {
      available: false,
      latency_ms: null,
      checked_at: now(),
      error: message(err),
      activeExperiments: null,
      registeredModels: null,
    };
  }
}

export async function probeFeatureStore(
  probe: FeatureStoreProbe | null,
  timeoutMs: number,
): Promise<ComponentHealth & { configured: boolean; featureViews: number }> {
  if (!probe) {
    return { available: false, configured: false, latency_ms: null, checked_at: now(), error: null, featureViews: 0 };
  }
  const started = performance.now();
  try {
    const featureViews = await withTimeout("feature-store registry", timeoutMs, () => probe.countFeatureViews());
    return {
      available: true,
      configured: true,
      latency_ms: round(performance.now() - started),
      checked_at: now(),
      error: null,
      featureViews,
    };
  } catch (err) {
    return { available: false, configured: true, latency_ms: null, checked_at: now(), error: message(err), featureViews: 0 };
  }
}

export async function probeNats(bus: Bus, timeoutMs: number): Promise<ComponentHealth> {
  try {
    const rtt = await withTimeout("NATS", timeoutMs, () => bus.rtt());
    return { available: true, latency_ms: round(rtt), checked_at: now(), error: null };
  } catch (err) {
    return { available: false, latency_ms: null, checked_at: now(), error: message(err) };
  }
}

/**
 * Only the job-scheduler opens the database, so its health is asked of the scheduler; the
 * same request says whether the scheduler answers at all.
 */
export async function probeDatabase(
  bus: Bus,
  timeoutMs: number,
): Promise<{ database: ComponentHealth & { kind: DatabaseHealth["kind"] | null }; scheduler: ComponentHealth }> {
  const started = performance.now();
  try {
    const health = await bus.request(RPC.databaseHealth, {}, { timeoutMs });
    return {
      database: {
        available: health.available,
        kind: health.kind,
        latency_ms: health.latency_ms,
        checked_at: now(),
        error: health.error,
      },
      scheduler: answered(started),
    };
  } catch (err) {
    const error = `job-scheduler: ${message(err)}`;
    return {
      database: { available: false, kind: null, latency_ms: null, checked_at: now(), error },
      scheduler: err instanceof RemoteError ? answered(started) : { available: false, latency_ms: null, checked_at: now(), error },
    };
  }
}

/**
 * Whether a service serves `def`: any reply counts, an error reply included (the service is
 * there and said why); no responders, or no reply within the budget, does not.
 */
export async function probeAnswers<D extends RpcDef>(
  bus: Bus,
  what: string,
  def: D,
  req: RpcRequest<D>,
  timeoutMs: number,
): Promise<ComponentHealth> {
  const started = performance.now();
  try {
    await bus.request(def, req, { timeoutMs });
    return answered(started);
  } catch (err) {
    if (err instanceof RemoteError) return answered(started);
    return { available: false, latency_ms: null, checked_at: now(), error: `${what}: ${message(err)}` };
  }
}

const answered = (started: number): ComponentHealth => ({
  available: true,
  latency_ms: round(performance.now() - started),
  checked_at: now(),
  error: null,
});

/** The training queue's depth from the runners' durable consumer; null depth when JetStream does not answer. */
export async function probeQueue(bus: Bus, timeoutMs: number): Promise<{ depth: QueueDepth | null; error: string | null }> {
  try {
    const p = await withTimeout("JetStream consumer info", timeoutMs, () => bus.consumerPending(CONSUMERS.runners));
    return { depth: { pending: p.pending, in_flight: p.ackPending, redelivered: p.redelivered }, error: null };
  } catch (err) {
    return { depth: null, error: message(err) };
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
