import { describe, expect, it } from "vitest";
import { readSse, type SseEvent } from "./sse.js";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(chunks: string[]): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readSse(streamOf(chunks))) events.push(event);
  return events;
}

describe("readSse", () => {
  it("reads the gateway's log stream: retry, named events with ids, comments", async () => {
    const text = 'retry: 2000\n\nevent: log\nid: 7\ndata: {"text":"a"}\n\n: keep-alive\n\nevent: end\ndata: {"status":"completed"}\n\n';
    expect(await collect([text])).toEqual([
      { event: "log", data: '{"text":"a"}', id: "7" },
      { event: "end", data: '{"status":"completed"}', id: "7" },
    ]);
  });

  it("reassembles events split anywhere across chunks, multi-byte characters included", async () => {
    const text = "event: log\r\ndata: {\"text\":\"naïve ✓\"}\r\n\r\ndata: first\ndata: second\n\n";
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const b of bytes) controller.enqueue(new Uint8Array([b]));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    for await (const event of readSse(stream)) events.push(event);
    expect(events).toEqual([
      { event: "log", data: '{"text":"naïve ✓"}', id: null },
      { event: "message", data: "first\nsecond", id: null },
    ]);
  });

  it("drops an event the stream cut off before its blank line", async () => {
    expect(await collect(["event: log\ndata: partial"])).toEqual([]);
  });

  it("closes the body when its reader stops before the stream ends", async () => {
    let cancelled: unknown = "not cancelled";
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("event: end\ndata: {}\n\n"));
        // The server keeps the connection open after its last event.
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    for await (const event of readSse(body)) if (event.event === "end") break;
    expect(cancelled).toBeUndefined();
    expect(body.locked).toBe(false);
  });
});
