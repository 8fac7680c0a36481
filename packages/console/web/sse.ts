import { request } from "./api.js";

/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

/**
 * Reads a Server-Sent Events route with `fetch()`: unlike EventSource it sends the API key
 * header. Calls `onEvent` per event until the server ends the stream or `signal` aborts.
 */
export async function readSse(path: string, signal: AbortSignal, onEvent: (e: SseEvent) => void): Promise<void> {
  const res = await request("GET", path, { signal, accept: "text/event-stream" });
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const parsed = parseBlock(block);
      if (parsed) onEvent(parsed);
    }
  }
}

function parseBlock(block: string): SseEvent | null {
  let event = "message";
  let id: string | null = null;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  return data.length === 0 ? null : { event, data: data.join("\n"), id };
}
