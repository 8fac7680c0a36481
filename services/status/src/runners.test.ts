import { describe, expect, it } from "vitest";
import type { RunnerHeartbeat } from "@asgard/contracts";
import { createRunnerTracker } from "./runners.js";

const beat = (runner_id: string, slots: number, busy: number, draining = false): RunnerHeartbeat => ({
  runner_id,
  slots,
  busy,
  draining,
  jobs: [],
  at: new Date(0).toISOString(),
});

describe("runner tracker", () => {
  it("sums the replicas heard within the window, newest beat per runner, ordered by id", () => {
    const tracker = createRunnerTracker(3_000);
    tracker.record(beat("b", 2, 0), 1_000);
    tracker.record(beat("a", 1, 1), 1_500);
    tracker.record(beat("b", 2, 2, true), 2_000);
    expect(tracker.summary(2_000)).toEqual({
      live: 2,
      slots: 3,
      busy: 3,
      draining: 1,
      window_ms: 3_000,
      replicas: [
        { runner_id: "a", slots: 1, busy: 1, draining: false, last_seen: new Date(1_500).toISOString() },
        { runner_id: "b", slots: 2, busy: 2, draining: true, last_seen: new Date(2_000).toISOString() },
      ],
    });
  });

  it("keeps a runner up to the window's end, then forgets it until it beats again", () => {
    const tracker = createRunnerTracker(3_000);
    tracker.record(beat("a", 1, 0), 0);
    tracker.record(beat("b", 4, 1), 2_000);
    expect(tracker.summary(3_000).live).toBe(2);
    expect(tracker.summary(3_001)).toMatchObject({ live: 1, slots: 4, busy: 1, replicas: [{ runner_id: "b" }] });
    // Forgotten: the clock going back does not bring it back.
    expect(tracker.summary(0).replicas.map((r) => r.runner_id)).toEqual(["b"]);
    tracker.record(beat("a", 1, 0), 6_000);
    expect(tracker.summary(6_000)).toMatchObject({ live: 1, replicas: [{ runner_id: "a" }] });
  });

  it("shows each replica's isolation level, and none for a runner that predates it", () => {
    const tracker = createRunnerTracker(3_000);
    const isolation = { mode: "bwrap", cgroups: "v2", seccomp: true, internet: false } as const;
    tracker.record({ ...beat("new", 1, 0), isolation }, 0);
    tracker.record(beat("old", 1, 0), 0);
    const [fresh, old] = tracker.summary(0).replicas;
    expect(fresh).toMatchObject({ runner_id: "new", isolation });
    expect(old).not.toHaveProperty("isolation");
  });

  it("reports nothing live before any heartbeat", () => {
    expect(createRunnerTracker(15_000).summary(Date.now())).toEqual({ live: 0, slots: 0, busy: 0, draining: 0, window_ms: 15_000, replicas: [] });
  });
});
