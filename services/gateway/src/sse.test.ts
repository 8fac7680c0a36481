import { describe, expect, it } from "vitest";
import { SseSink } from "./sse.js";

async function text(sink: SseSink): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of sink.stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

describe("SseSink", () => {
  it("writes events with id and one-line JSON data, comments and retry, then ends", async () => {
    const sink = new SseSink();
    const out = text(sink);
    await sink.retry(2000);
    await sink.event("log", { text: "a\nb" }, "7");
    await sink.event("end", { ok: true });
    await sink.comment("keep\nalive");
    sink.end();
    expect(await out).toBe('retry: 2000\n\nevent: log\nid: 7\ndata: {"text":"a\\nb"}\n\nevent: end\ndata: {"ok":true}\n\n: keep alive\n\n');
    await sink.closed;
    expect(sink.open).toBe(false);
  });

  it("ignores writes once the stream was destroyed (the client left)", async () => {
    const sink = new SseSink();
    sink.stream.destroy();
    await sink.closed;
    await sink.event("log", { x: 1 });
    sink.end();
    expect(sink.open).toBe(false);
  });
});
