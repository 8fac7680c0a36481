import { describe, expect, it } from "vitest";
import type { JobLogStored } from "@asgard/contracts";
import { followSignal } from "./log-stream.js";

const line = (text: string) => ({ stream: "stdout" as const, text, at: "2026-01-01T00:00:00.000Z" });
const stored = (offset: number, texts: string[], ended = false): JobLogStored => ({
  job_id: "j",
  attempt: 1,
  offset,
  next_offset: offset + texts.length,
  lines: texts.map(line),
  ended,
});

describe("followSignal", () => {
  it("sends the lines of a signal that starts where the stream stands", () => {
    expect(followSignal(stored(4, ["a", "b"]), 4)).toEqual({ lines: [line("a"), line("b")], read: false });
  });

  it("sends only the lines the stream lacks when a signal reaches back before it", () => {
    expect(followSignal(stored(2, ["a", "b", "c"]), 3)).toEqual({ lines: [line("b"), line("c")], read: false });
  });

  it("ignores a signal the stream is past", () => {
    expect(followSignal(stored(0, ["a", "b"]), 2)).toEqual({ lines: [], read: false });
    expect(followSignal(stored(0, ["a"]), 5)).toEqual({ lines: [], read: false });
  });

  it("reads the log when a signal starts past the stream (one was missed, or its lines were left out)", () => {
    expect(followSignal(stored(6, ["x"]), 4)).toEqual({ lines: [], read: true });
    expect(followSignal({ ...stored(9, []), offset: 9, next_offset: 9 }, 4)).toEqual({ lines: [], read: true });
  });

  it("reads the log after a job's end, to learn that it is complete", () => {
    expect(followSignal(stored(4, [], true), 4)).toEqual({ lines: [], read: true });
    expect(followSignal(stored(4, ["z"], true), 4)).toEqual({ lines: [line("z")], read: true });
  });
});
