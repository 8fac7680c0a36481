import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken } from "./page-token.js";

describe("page tokens", () => {
  it("round-trip a cursor and stay URL-safe", () => {
    const cursor = { createdAt: new Date("2026-03-04T05:06:07.089Z"), jobId: "8b7c…/+=" };
    const token = encodePageToken(cursor);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token)).toEqual(cursor);
  });
  it("reject anything else", () => {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    for (const bad of [
      "",
      "not base64!",
      Buffer.from("not json").toString("base64url"),
      enc(null),
      enc({ v: 2, c: "2026-01-01T00:00:00.000Z", j: "x" }),
      enc({ v: 1, c: "2026-01-01", j: "x" }),
      enc({ v: 1, c: "2026-01-01T00:00:00.000Z", j: "" }),
      enc({ v: 1, c: "2026-01-01T00:00:00.000Z" }),
    ]) {
      expect(decodePageToken(bad)).toBeNull();
    }
  });
});
