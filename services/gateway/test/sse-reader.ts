/** One Server-Sent Events block as a client sees it; comments are kept so tests can see keep-alives. */
export interface SseMessage {
  event?: string;
  id?: string;
  data?: string;
  retry?: number;
  comments: string[];
}

/**
 * Reads a `text/event-stream` response body block by block (blocks end with a blank line),
 * the way EventSource splits it.
 */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #done = false;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** The next block, or null once the server closed the stream. */
  async next(): Promise<SseMessage | null> {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return parseBlock(block);
      }
      if (this.#done) return null;
      const { value, done } = await this.#reader.read();
      if (done) this.#done = true;
      else this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Blocks until one satisfies `stop` (included) or the stream ends. */
  async until(stop: (m: SseMessage) => boolean): Promise<SseMessage[]> {
    const seen: SseMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (!m) return seen;
      seen.push(m);
      if (stop(m)) return seen;
    }
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => undefined);
  }
}

function parseBlock(block: string): SseMessage {
  const message: SseMessage = { comments: [] };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      message.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") message.event = value;
    else if (field === "id") message.id = value;
    else if (field === "data") message.data = message.data === undefined ? value : `${message.data}\n${value}`;
    else if (field === "retry") message.retry = Number(value);
  }
  return message;
}
