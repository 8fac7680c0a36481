import { describe, expect, it } from "vitest";
import { MicroBatcher, type ItemOutcome } from "./batcher.js";

/** A runner whose calls finish only when the test says so; records every batch. */
function controlledRunner() {
  const batches: number[][] = [];
  const finishers: Array<() => void> = [];
  const run = (inputs: number[]) => {
    batches.push(inputs);
    return new Promise<ItemOutcome<number>[]>((resolve) => finishers.push(() => resolve(inputs.map((v) => ({ ok: true, value: v * 10 })))));
  };
  const finishNext = async () => {
    finishers.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { batches, run, finishNext };
}

describe("MicroBatcher", () => {
  it("sends a lone request at once, without waiting for company", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher({ maxBatchRows: 64, maxWaitMs: 60_000, maxGapMs: 60_000, run: runner.run });
    for (let i = 1; i <= 3; i++) {
      const answer = batcher.submit(i, 1);
      expect(runner.batches).toHaveLength(i);
      await runner.finishNext();
      expect(await answer).toBe(i * 10);
    }
    expect(runner.batches).toEqual([[1], [2], [3]]);
  });

  it("coalesces what arrives while a batch is in flight into one call", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher({ maxBatchRows: 64, maxWaitMs: 0, run: runner.run });
    const first = batcher.submit(0, 1);
    const rest = Array.from({ length: 10 }, (_, i) => batcher.submit(i + 1, 1));
    expect(runner.batches).toEqual([[0]]);
    await runner.finishNext();
    expect(runner.batches[1]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await runner.finishNext();
    expect(await first).toBe(0);
    expect(await Promise.all(rest)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  it("never puts more rows in a batch than allowed (a larger request goes alone)", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher({ maxBatchRows: 10, maxWaitMs: 0, run: runner.run });
    const all = [batcher.submit(1, 1), batcher.submit(2, 6), batcher.submit(3, 3), batcher.submit(4, 6), batcher.submit(5, 20), batcher.submit(6, 1)];
    while (runner.batches.length < 5) await runner.finishNext();
    await runner.finishNext();
    expect(runner.batches).toEqual([[1], [2, 3], [4], [5], [6]]);
    await Promise.all(all);
  });

  it("after a busy cycle, waits for the client it just answered so groups merge", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher({ maxBatchRows: 64, maxWaitMs: 60_000, maxGapMs: 60_000, run: runner.run });
    // One request in flight, seven more queue behind it: eight outstanding.
    const first = batcher.submit(0, 1);
    const second = Array.from({ length: 7 }, (_, i) => batcher.submit(i + 1, 1));
    await runner.finishNext();
    expect(await first).toBe(0);
    // Idle with seven queued, but eight were outstanding: the batch waits for the eighth…
    expect(runner.batches).toHaveLength(1);
    // …which comes as soon as the answered client sends again, and all eight go together.
    const again = batcher.submit(100, 1);
    expect(runner.batches[1]).toEqual([1, 2, 3, 4, 5, 6, 7, 100]);
    await runner.finishNext();
    expect(await Promise.all([...second, again])).toEqual([10, 20, 30, 40, 50, 60, 70, 1000]);
  });

  it("sends a partial batch once the wait is over", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher({ maxBatchRows: 64, maxWaitMs: 1_000, maxGapMs: 1_000, run: runner.run });
    const all = [batcher.submit(1, 1), batcher.submit(2, 1), batcher.submit(3, 1)];
    await runner.finishNext();
    expect(runner.batches).toHaveLength(1);
    while (runner.batches.length < 2) await new Promise((r) => setTimeout(r, 50));
    expect(runner.batches[1]).toEqual([2, 3]);
    await runner.finishNext();
    await Promise.all(all);
  });

  it("stops waiting once arrivals pause, long before the longest wait", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher({ maxBatchRows: 64, maxWaitMs: 60_000, maxGapMs: 20, run: runner.run });
    const all = [batcher.submit(1, 1), batcher.submit(2, 1), batcher.submit(3, 1)];
    await runner.finishNext();
    // Three were outstanding, two wait: nobody else comes, so the pause sends them.
    expect(runner.batches).toHaveLength(1);
    while (runner.batches.length < 2) await new Promise((r) => setTimeout(r, 10));
    expect(runner.batches[1]).toEqual([2, 3]);
    await runner.finishNext();
    await Promise.all(all);
  });

  it("fails every item of a batch whose run throws, and each failed item alone", async () => {
    const batcher = new MicroBatcher<number, number>({
      maxBatchRows: 8,
      maxWaitMs: 0,
      run: async (inputs) => {
        if (inputs.includes(0)) throw new Error("boom");
        return inputs.map((v) => (v < 0 ? { ok: false, error: new Error(`bad ${v}`) } : { ok: true, value: v }));
      },
    });
    await expect(batcher.submit(0, 1)).rejects.toThrow("boom");
    await expect(batcher.submit(-1, 1)).rejects.toThrow("bad -1");
    expect(await batcher.submit(7, 1)).toBe(7);
  });

  it("refuses new items once closed and fails the queued ones", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher({ maxBatchRows: 8, maxWaitMs: 0, run: runner.run });
    const inFlight = batcher.submit(1, 1);
    const queued = batcher.submit(2, 1);
    batcher.close(new Error("unloaded"));
    await expect(queued).rejects.toThrow("unloaded");
    await expect(batcher.submit(3, 1)).rejects.toThrow("unloaded");
    await runner.finishNext();
    expect(await inFlight).toBe(10);
    await batcher.whenIdle();
    expect(batcher.idle).toBe(true);
  });
});
