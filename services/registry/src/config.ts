import { randomUUID } from "node:crypto";
import { STREAMS } from "@asgard/contracts";

/** Everything tunable about the registry; env.ts maps variables onto it. */
export interface RegistryConfig {
  /** Names this replica in claims and cache signals. */
  instanceId: string;
  /**
   * How often the registry re-reads MLflow: the model cache, versions registered directly in
   * MLflow (announced as model.registered) and aliases moved there.
   */
  pollIntervalMs: number;
  /** Longest wait for a new version to become READY before the registration is reported as timed out. */
  readyTimeoutMs: number;
  /** Pause between two READY checks. */
  readyPollMs: number;
  /**
   * An automatic registration that keeps failing on a transient fault (MLflow unreachable) is
   * given up this long after the run completed, with a registration_failed event. Below the
   * scheduler's own registration deadline (5 min), so the job records the real reason.
   */
  autoRegisterGiveUpMs: number;
  /**
   * A replica creates a version only this soon after taking the job's claim; the claim lives
   * for the claim stream's max age, so a slower replica stops long before another may claim.
   */
  claimUseWithinMs: number;
  /** JSON bytes of models in one list page: a reply must fit NATS's 1 MiB payload limit. */
  listPageBytes: number;
}

const SECOND = 1_000;

export const DEFAULT_CONFIG: Omit<RegistryConfig, "instanceId"> = {
  pollIntervalMs: 5 * SECOND,
  readyTimeoutMs: 30 * SECOND,
  readyPollMs: 250,
  autoRegisterGiveUpMs: 4 * 60 * SECOND,
  claimUseWithinMs: Math.floor(STREAMS.registryClaims.maxAgeMs / 2),
  listPageBytes: 768 * 1024,
};

/** The defaults with `overrides` on top; a fresh instance id unless one is given. */
export function resolveConfig(overrides: Partial<RegistryConfig> = {}): RegistryConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { instanceId: `registry-${randomUUID().slice(0, 8)}`, ...DEFAULT_CONFIG, ...defined };
}
