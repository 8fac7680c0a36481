import { describe, expect, it } from "vitest";
import { countFeatureViewsInRegistry } from "./feast-registry.js";

// Hand-encoded protobuf: tag = (field << 3) | wireType.
const lenField = (field: number, payload: Uint8Array) =>
  Uint8Array.from([(field << 3) | 2, payload.length, ...payload]);
const str = (s: string) => new TextEncoder().encode(s);
const featureView = (name: string, project: string) =>
  lenField(6, lenField(1, Uint8Array.from([...lenField(1, str(name)), ...lenField(2, str(project))])));

describe("countFeatureViewsInRegistry", () => {
  const registry = Uint8Array.from([
    ...lenField(1, str("entity-bytes")), // an entity: not counted
    ...featureView("driver_stats", "prod"),
    ...featureView("customer_stats", "prod"),
    ...featureView("scratch", "dev"),
    ...[(3 << 3) | 0, 1], // registry_schema_version varint
  ]);

  it("counts feature views across projects", () => {
    expect(countFeatureViewsInRegistry(registry)).toBe(3);
  });

  it("counts one project's feature views", () => {
    expect(countFeatureViewsInRegistry(registry, "prod")).toBe(2);
    expect(countFeatureViewsInRegistry(registry, "none")).toBe(0);
  });

  it("rejects bytes that are not a protobuf message", () => {
    expect(() => countFeatureViewsInRegistry(Uint8Array.from([0x0a, 0x7f, 0x01]))).toThrow(/truncated/);
  });

  it("an empty registry has no feature views", () => {
    expect(countFeatureViewsInRegistry(new Uint8Array())).toBe(0);
  });
});
