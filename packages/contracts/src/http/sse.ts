/*
 * The client side of the API's event streams (the job log stream, `LOG_SSE_EVENTS`), shared by
 * the CLI and the web console. Both bundle it: it imports nothing and uses only what browsers
 * and Node have alike (streams, TextDecoder), and reads only the body its caller opened.
 */

/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

/**
 * Reads a `text/event-stream` body (the WHATWG rules that matter here: `event`, `data`
 * lines joined by newlines, `id`, comments ignored, CR/LF/CRLF line ends). `fetch` streams
 * rather than EventSource, because EventSource cannot send the Authorization header.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | null = null;
  const reader = body.getReader();
  // Ends a pending read at once, whatever the body's source does with the abort.
  const stop = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", stop, { once: true });
  let ended = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let end: RegExpExecArray | null;
      while ((end = /\r\n|\r(?!$)|\n/.exec(buffer)) !== null) {
        const line = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        if (line === "") {
          if (data.length > 0) yield { event: event || "message", data: data.join("\n"), id };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
      if (done) {
        ended = true;
        return;
      }
    }
  } finally {
    signal?.removeEventListener("abort", stop);
    // A caller that stops early (its last event came, or it threw) closes the body: the connection is not left open to the server.
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
