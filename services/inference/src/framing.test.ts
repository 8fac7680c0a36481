import { describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder, FrameError, MAX_FRAME_BYTES } from "./framing.js";

describe("worker frames", () => {
  it("round-trips values split at every byte boundary", () => {
    const values = [{ op: "predict", id: 1, values: [[1.5, null], ["ø", "x"]] }, { ok: true }, "tail"];
    const stream = Buffer.concat(values.map(encodeFrame));
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(out).toEqual(values);
    }
  });

  it("returns several frames from one chunk and keeps a partial one", () => {
    const decoder = new FrameDecoder();
    const a = encodeFrame({ a: 1 });
    const b = encodeFrame({ b: 2 });
    expect(decoder.push(Buffer.concat([a, b, b.subarray(0, 3)]))).toEqual([{ a: 1 }, { b: 2 }]);
    expect(decoder.push(b.subarray(3))).toEqual([{ b: 2 }]);
  });

  it("refuses an impossible length and a body that is not JSON", () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    expect(() => new FrameDecoder().push(head)).toThrow(FrameError);
    const bad = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from("{x}")]);
    expect(() => new FrameDecoder().push(bad)).toThrow(/not JSON/);
  });
});
