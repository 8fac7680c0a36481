import { PassThrough } from "node:stream";

/**
 * The writing end of a Server-Sent Events response. The route hands `stream` to Fastify,
 * which pipes it to the socket and destroys it when the client goes away; `closed` then
 * resolves, so the producer stops.
 */
export class SseSink {
  readonly stream = new PassThrough();
  readonly closed: Promise<void>;
  #open = true;

  constructor() {
    this.closed = new Promise((resolve) => {
      this.stream.once("close", () => {
        this.#open = false;
        resolve();
      });
    });
  }

  get open(): boolean {
    return this.#open && !this.stream.destroyed && !this.stream.writableEnded;
  }

  /** `event: <name>`, optional `id:`, and the JSON payload on one `data:` line (JSON has no raw newlines). */
  event(name: string, data: unknown, id?: string): Promise<void> {
    const idLine = id === undefined ? "" : `id: ${id}\n`;
    return this.#write(`event: ${name}\n${idLine}data: ${JSON.stringify(data)}\n\n`);
  }

  /** A comment line: ignored by clients, keeps proxies from closing an idle stream. */
  comment(text: string): Promise<void> {
    return this.#write(`: ${text.replace(/[\r\n]+/g, " ")}\n\n`);
  }

  /** Tells an EventSource how long to wait before reconnecting. */
  retry(ms: number): Promise<void> {
    return this.#write(`retry: ${Math.round(ms)}\n\n`);
  }

  /** Ends the response after what was written. */
  end(): void {
    if (this.open) this.stream.end();
  }

  /** Writes and, when the buffer is full (slow client), waits until it drains or the client leaves. */
  async #write(chunk: string): Promise<void> {
    if (!this.open) return;
    if (this.stream.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off("drain", done);
        this.stream.off("close", done);
        resolve();
      };
      this.stream.once("drain", done);
      this.stream.once("close", done);
    });
  }
}
