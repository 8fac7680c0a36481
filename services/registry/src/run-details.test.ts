import { describe, expect, it } from "vitest";
import { thin } from "./run-details.js";
import { firstRowOf } from "./versions.js";

const point = (step: number, value: number) => ({ key: "loss", step, value, timestamp: 1_000 + step });

describe("thin", () => {
  it("orders by step and keeps a short history whole, NaN as null", () => {
    expect(thin([point(2, 0.5), point(0, Number.NaN), point(1, 1)], 10).map((p) => [p.step, p.value])).toEqual([
      [0, null],
      [1, 1],
      [2, 0.5],
    ]);
  });

  it("thins a long history evenly to the bound, keeping the first and last points", () => {
    const thinned = thin(Array.from({ length: 1_001 }, (_, i) => point(i, i)), 11);
    expect(thinned.map((p) => p.step)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  });
});

describe("firstRowOf", () => {
  it("reads the first row of a split-orient frame, a numpy array, an inputs object and a 1-d array", () => {
    expect(firstRowOf({ columns: ["a", "b"], data: [[1, "x"], [2, "y"]] })).toEqual([1, "x"]);
    expect(firstRowOf([[0.5, 1.5], [2, 3]])).toEqual([0.5, 1.5]);
    expect(firstRowOf({ inputs: [[true, null]] })).toEqual([true, null]);
    expect(firstRowOf([4, 5])).toEqual([4]);
  });

  it("is null for what is no table of scalars", () => {
    expect(firstRowOf({})).toBeNull();
    expect(firstRowOf([])).toBeNull();
    expect(firstRowOf([[{ nested: 1 }]])).toBeNull();
    expect(firstRowOf("text")).toBeNull();
  });
});
