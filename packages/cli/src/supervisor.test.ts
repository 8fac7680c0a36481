import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnManaged } from "@asgard/infra";
import { afterEach, describe, expect, it } from "vitest";
import { RunRecords } from "./leftovers.js";
import { supervise } from "./supervisor.js";

describe("supervise", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("stop() ends a restart backoff at once instead of waiting it out", async () => {
    dir = mkdtempSync(join(tmpdir(), "asgard-supervise-"));
    let starts = 0;
    const codes: Array<number | null> = [];
    let restarting: () => void = () => undefined;
    const restarted = new Promise<void>((resolve) => (restarting = resolve));
    const supervised = await supervise({
      name: "short-lived",
      records: new RunRecords(dir),
      start: () => {
        starts++;
        return Promise.resolve(spawnManaged({ name: "short-lived", command: process.execPath, args: ["-e", "process.exit(3)"] }));
      },
      onRestart: (_attempt, code) => {
        codes.push(code);
        restarting();
      },
      onStartFailed: () => undefined,
      // An hour: only stop() can end this wait before the test times out.
      restartBackoff: { initialMs: 3_600_000, maxMs: 3_600_000 },
    });
    await restarted;
    await supervised.stop();
    expect(codes).toEqual([3]);
    expect(starts).toBe(1);
    expect(supervised.current()).toBeNull();
  });
});
