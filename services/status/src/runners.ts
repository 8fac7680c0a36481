import { SIGNALS, type RunnerHeartbeat, type RunnersStatus } from "@asgard/contracts";
import type { Bus } from "@asgard/bus";

/** Last heartbeat of every python-runner replica, as heard by this status replica. */
export interface RunnerTracker {
  /** Records one heartbeat received at `at` (ms since the epoch). */
  record(beat: RunnerHeartbeat, at: number): void;
  /** The replicas heard from within the window at `now`; older ones are forgotten. */
  summary(now: number): RunnersStatus;
}

export function createRunnerTracker(windowMs: number): RunnerTracker {
  // Keyed by runner id; `at` is our receive time: runners' clocks may disagree with ours.
  const seen = new Map<string, { beat: RunnerHeartbeat; at: number }>();
  return {
    record(beat, at) {
      seen.set(beat.runner_id, { beat, at });
    },
    summary(now) {
      const live: Array<{ beat: RunnerHeartbeat; at: number }> = [];
      for (const [id, entry] of seen) {
        // Forgotten, not only hidden: ids of replaced pods would pile up otherwise.
        if (now - entry.at > windowMs) seen.delete(id);
        else live.push(entry);
      }
      live.sort((a, b) => (a.beat.runner_id < b.beat.runner_id ? -1 : a.beat.runner_id > b.beat.runner_id ? 1 : 0));
      return {
        live: live.length,
        slots: live.reduce((n, e) => n + e.beat.slots, 0),
        busy: live.reduce((n, e) => n + e.beat.busy, 0),
        draining: live.filter((e) => e.beat.draining).length,
        window_ms: windowMs,
        replicas: live.map(({ beat, at }) => ({
          runner_id: beat.runner_id,
          slots: beat.slots,
          busy: beat.busy,
          draining: beat.draining,
          last_seen: new Date(at).toISOString(),
          ...(beat.isolation ? { isolation: beat.isolation } : {}),
        })),
      };
    },
  };
}

/**
 * Feeds every `runner.heartbeat` into the tracker. No queue group, unlike the scheduler's
 * subscription: every status replica must hear every runner.
 */
export function listenForRunners(bus: Bus, tracker: RunnerTracker, now: () => number = Date.now): { stop(): Promise<void> } {
  return bus.subscribeSignal(SIGNALS.runnerHeartbeat, (beat) => tracker.record(beat, now()));
}
