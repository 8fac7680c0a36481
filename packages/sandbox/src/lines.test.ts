import { describe, expect, it } from "vitest";
import { LineSplitter, MAX_LINE_BYTES } from "./lines.js";

function split(chunks: Array<string | Buffer>, maxBytes?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((l) => lines.push(l), maxBytes);
  for (const c of chunks) splitter.push(typeof c === "string" ? Buffer.from(c) : c);
  splitter.end();
  return lines;
}

describe("LineSplitter", () => {
  it("splits on newlines across chunk boundaries and keeps empty lines", () => {
    expect(split(["a\nb", "c\n\nd"])).toEqual(["a", "bc", "", "d"]);
  });

  it("emits nothing more for output ending in a newline", () => {
    expect(split(["one\ntwo\n"])).toEqual(["one", "two"]);
  });

  it("drops the CR of CRLF line ends only", () => {
    expect(split(["a\r\nb\rc\n"])).toEqual(["a", "b\rc"]);
  });

  it("decodes a multi-byte character split across chunks", () => {
    const bytes = Buffer.from("é€\n");
    expect(split([bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)])).toEqual(["é€"]);
  });

  it("cuts long lines into pieces of at most maxBytes on character boundaries", () => {
    // "€" is 3 bytes: 4 of them are 12 bytes, cut at 10 would split the 4th.
    const lines = split(["€€€€x\n"], 10);
    expect(lines).toEqual(["€€€", "€x"]);
    for (const l of lines) expect(Buffer.byteLength(l)).toBeLessThanOrEqual(10);
  });

  it("keeps a line of exactly maxBytes whole", () => {
    const line = "x".repeat(MAX_LINE_BYTES);
    expect(split([line + "\n"])).toEqual([line]);
  });

  it("splits a 200 KiB line at 64 KiB", () => {
    const lines = split(["y".repeat(200 * 1024), "\nnext\n"]);
    expect(lines.map((l) => l.length)).toEqual([65536, 65536, 65536, 8192, 4]);
    expect(lines.slice(0, 4).join("")).toBe("y".repeat(200 * 1024));
  });

  it("rejects a maxBytes too small for one UTF-8 character", () => {
    expect(() => new LineSplitter(() => {}, 3)).toThrow(RangeError);
  });
});
