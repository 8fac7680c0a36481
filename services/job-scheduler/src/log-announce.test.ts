import { describe, expect, it } from "vitest";
import type { JobLogStored } from "@asgard/contracts";
import type { SchedulerContext } from "./context.js";
import { announceLog } from "./log-announce.js";

/** The context's bus records the signals; the budget is a reply's `logReplyBytes`. */
function context(logReplyBytes: number) {
  const sent: Array<{ payload: JobLogStored; subject: string | undefined }> = [];
  const ctx = {
    config: { logReplyBytes },
    bus: { publishSignal: (_def: unknown, payload: JobLogStored, opts?: { subject?: string }) => void sent.push({ payload, subject: opts?.subject }) },
  } as unknown as SchedulerContext;
  return { ctx, sent };
}

const at = new Date("2026-01-01T00:00:00Z");

describe("announceLog", () => {
  it("carries the stored lines at their offsets on the job's subject", () => {
    const { ctx, sent } = context(64 * 1024);
    announceLog(ctx, { jobId: "j1", attempt: 2 }, 5, [{ stream: "stdout", text: "a", at }, { stream: "stderr", text: "b", at }], false);
    expect(sent).toEqual([
      {
        subject: "job.log_stored.j1",
        payload: {
          job_id: "j1",
          attempt: 2,
          offset: 5,
          next_offset: 7,
          lines: [
            { stream: "stdout", text: "a", at: at.toISOString() },
            { stream: "stderr", text: "b", at: at.toISOString() },
          ],
          ended: false,
        },
      },
    ]);
  });

  it("leaves out lines a reply could not carry whole, saying only where the log ends", () => {
    const { ctx, sent } = context(200);
    announceLog(ctx, { jobId: "j1", attempt: 1 }, 3, [{ stream: "stdout", text: "x".repeat(500), at }], false);
    expect(sent[0]?.payload).toMatchObject({ offset: 4, next_offset: 4, lines: [], ended: false });
    announceLog(ctx, { jobId: "j1", attempt: 1 }, 4, Array.from({ length: 20 }, () => ({ stream: "stdout" as const, text: "y".repeat(20), at })), true);
    expect(sent[1]?.payload).toMatchObject({ offset: 24, next_offset: 24, lines: [], ended: true });
  });
});
