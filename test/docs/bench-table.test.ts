import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOCUMENTS, readResults, renderBenchTable, tableIn } from "@asgard/bench/tables";

const root = join(import.meta.dirname, "..", "..");

describe("benchmark figures in the docs", () => {
  for (const doc of DOCUMENTS) {
    it(`${doc} quotes bench/results through the generated table (npm run bench -- --tables rewrites it)`, async () => {
      const text = await readFile(join(root, doc), "utf8");
      expect(tableIn(text)).toBe(renderBenchTable(await readResults(root)));
    });
  }

  it("every result file names its headline figures and unit", async () => {
    for (const result of await readResults(root)) {
      expect(result.unit.length).toBeGreaterThan(0);
      expect(Number.isFinite(result.ours) && Number.isFinite(result.baseline) && Number.isFinite(result.ratio)).toBe(true);
    }
  });
});
