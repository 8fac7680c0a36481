import { describe, expect, it } from "vitest";
import { SharedWork, type WorkContext } from "./shared.js";

/** Work that stays open until `finish` is called, recording what it saw. */
function gate() {
  let finish: (value: string) => void = () => undefined;
  let ctx: WorkContext | undefined;
  let cleanedUp = false;
  let runs = 0;
  const work = (c: WorkContext) => {
    runs++;
    ctx = c;
    return new Promise<string>((resolve, reject) => {
      finish = resolve;
      c.signal.addEventListener("abort", () => {
        cleanedUp = true;
        reject(new Error("stopped"));
      });
    });
  };
  return { work, finish: (v: string) => finish(v), ctx: () => ctx, cleanedUp: () => cleanedUp, runs: () => runs };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("SharedWork", () => {
  it("runs the work once for concurrent callers and sends its log to each", async () => {
    const shared = new SharedWork<string>();
    const g = gate();
    const seen: string[] = [];
    const a = shared.run("k", g.work, { what: "w", onLog: (l) => seen.push(`a:${l}`) });
    const b = shared.run("k", g.work, { what: "w", onLog: (l) => seen.push(`b:${l}`) });
    await tick();
    g.ctx()?.log("hello");
    g.finish("done");
    expect(await Promise.all([a, b])).toEqual(["done", "done"]);
    expect(g.runs()).toBe(1);
    expect(seen).toEqual(["a:hello", "b:hello"]);
  });

  it("detaches one aborting caller without stopping the work for the others", async () => {
    const shared = new SharedWork<string>();
    const g = gate();
    const quit = new AbortController();
    const a = shared.run("k", g.work, { what: "w", signal: quit.signal });
    const b = shared.run("k", g.work, { what: "w" });
    await tick();
    quit.abort();
    await expect(a).rejects.toMatchObject({ code: "CANCELLED" });
    expect(g.ctx()?.signal.aborted).toBe(false);
    g.finish("done");
    expect(await b).toBe("done");
  });

  it("stops the work when the last caller aborts, answers after it cleaned up, and starts afresh next time", async () => {
    const shared = new SharedWork<string>();
    const g = gate();
    const quit = new AbortController();
    const a = shared.run("k", g.work, { what: "w", signal: quit.signal });
    await tick();
    quit.abort();
    await expect(a).rejects.toMatchObject({ code: "CANCELLED" });
    expect(g.cleanedUp()).toBe(true);
    const next = shared.run("k", g.work, { what: "w" });
    await tick();
    g.finish("again");
    expect(await next).toBe("again");
    expect(g.runs()).toBe(2);
  });
});
