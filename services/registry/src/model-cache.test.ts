import type { ModelInfo } from "@asgard/contracts";
import { BusError } from "@asgard/bus";
import { describe, expect, it } from "vitest";
import { createModelCache } from "./model-cache.js";

const model = (name: string, aliases: Record<string, string> = {}, description: string | null = null): ModelInfo => ({
  name,
  description,
  tags: {},
  latest_versions: [],
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  aliases,
});

describe("model cache", () => {
  it("pages by name with a cursor, bounded by count and by bytes", () => {
    const cache = createModelCache("team-a");
    expect(cache.loaded).toBe(false);
    cache.replaceAll(["c", "a", "e", "b", "d"].map((n) => model(n)), cache.writeSeq());
    expect(cache.loaded).toBe(true);

    const first = cache.page(null, 2, 1_000_000);
    expect(first.models.map((m) => m.name)).toEqual(["a", "b"]);
    const second = cache.page(first.nextPageToken, 2, 1_000_000);
    expect(second.models.map((m) => m.name)).toEqual(["c", "d"]);
    // A model added meanwhile before the cursor does not shift the pages after it.
    cache.put(model("aa"));
    const third = cache.page(second.nextPageToken, 2, 1_000_000);
    expect(third).toEqual({ models: [model("e")], nextPageToken: null });

    const bytes = (name: string) => Buffer.byteLength(JSON.stringify(model(name)));
    // Two models and the comma between them fit; the third does not.
    const byBytes = cache.page(null, null, bytes("a") + 1 + bytes("aa"));
    expect(byBytes.models.map((m) => m.name)).toEqual(["a", "aa"]);
    expect(byBytes.nextPageToken).not.toBeNull();
    // A budget below one model still returns one, so paging always advances.
    expect(cache.page(null, null, 1).models).toHaveLength(1);
    expect(cache.page(null, null, 1_000_000).nextPageToken).toBeNull();
  });

  it("refuses a page token it did not give out", () => {
    const cache = createModelCache("team-a");
    cache.replaceAll([model("a")], 0);
    for (const token of ["not a token", "e30", Buffer.from('{"after":1}').toString("base64url")]) {
      expect(() => cache.page(token, null, 1000)).toThrow(BusError);
    }
  });

  it("reports alias changes between full reads, except on the first and for models written since the read started", () => {
    const cache = createModelCache("team-a");
    expect(cache.replaceAll([model("a", { champion: "1" }), model("gone", { live: "3" })], cache.writeSeq())).toEqual([]);

    const changes = cache.replaceAll([model("a", { champion: "2", staging: "1" }), model("new", { x: "1" })], cache.writeSeq());
    expect(changes).toEqual(
      expect.arrayContaining([
        { tenant: "team-a", modelName: "a", alias: "champion", version: "2", previousVersion: "1" },
        { tenant: "team-a", modelName: "a", alias: "staging", version: "1", previousVersion: null },
        { tenant: "team-a", modelName: "new", alias: "x", version: "1", previousVersion: null },
        { tenant: "team-a", modelName: "gone", alias: "live", version: null, previousVersion: "3" },
      ]),
    );
    expect(changes).toHaveLength(4);

    // A read that started before our write must not undo it (nor report it again).
    const startedAt = cache.writeSeq();
    expect(cache.put(model("a", { champion: "3", staging: "1" }))).toEqual([{ tenant: "team-a", modelName: "a", alias: "champion", version: "3", previousVersion: "2" }]);
    cache.put(model("late"));
    expect(cache.replaceAll([model("a", { champion: "2", staging: "1" }), model("new", { x: "1" })], startedAt)).toEqual([]);
    expect(cache.get("a")?.aliases).toEqual({ champion: "3", staging: "1" });
    expect(cache.get("late")).toBeDefined();

    cache.remove("late");
    expect(cache.get("late")).toBeUndefined();
    expect(cache.size).toBe(2);
  });
});
