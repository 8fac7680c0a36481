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
    const batcher = new MicroBatcher({ maxBatchRows: 64, maxWaitMs: 60_000, run: runner.run });
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
    const all = [batcher.submit(1, 1), batcher.submit(2, 6), batcher.submit(3, 6), batcher.submit(4, 20), batcher.submit(5, 1)];
    while (runner.batches.length < 4) await runner.finishNext();
    await runner.finishNext();
    expect(runner.batches).toEqual([[1], [2], [3], [4, 5].slice(0, 1), [5]].filter((b) => b.length > 0));
    await Promise.all(all);
  });

  it("after a busy cycle, waits for the clients it just answered so groups merge", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher({ maxBatchRows: 64, maxWaitMs: 60_000, run: runner.run });
    // Cycle 1: one request in flight, seven more queue behind it (eight outstanding).
    const first = [batcher.submit(0, 1)];
    const second = Array.from({ length: 7 }, (_, i) => batcher.submit(i + 1, 1));
    await runner.finishNext();
    expect(runner.batches[1]).toHaveLength(7);
    // While the seven are in flight, the first client sends again: it waits in the queue.
    const again = batcher.submit(100, 1);
    await runner.finishNext();
    // Idle now, one queued but eight were outstanding: the batch waits to fill instead of going alone.
    expect(runner.batches).toHaveLength(2);
    const others = Array.from({ length: 7 }, (_, i) => batcher.submit(200 + i, 1));
    expect(runner.batches[2]).toHaveLength(8);
    await runner.finishNext();
    await Promise.all([...first, ...second, again, ...others]);
  });

  it("sends a partial batch after the wait", async () => {
    const runner = controlledRunner();
    const batcher = new MicroBatcher({ maxBatchRows: 64, maxWaitMs: 5, run: runner.run });
    const a = [batcher.submit(1, 1), batcher.submit(2, 1), batcher.submit(3, 1)];
    await runner.finishNext();
    await runner.finishNext();
    const late = batcher.submit(4, 1);
    expect(runner.batches).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(runner.batches[2]).toEqual([4]);
    await runner.finishNext();
    await Promise.all([...a, late]);
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
