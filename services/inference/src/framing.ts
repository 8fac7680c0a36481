/**
 * Frames of the worker protocol: a 4-byte big-endian length, then that many bytes of UTF-8
 * JSON. Length-prefixed rather than line-based so a value never needs escaping and a reader
 * knows how much to wait for.
 */

/** Largest frame either side accepts; a bigger length means the stream is corrupt. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Thrown by the decoder for a length beyond {@link MAX_FRAME_BYTES} or a body that is not JSON. */
export class FrameError extends Error {
  readonly code = "BAD_FRAME";
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = "FrameError";
  }
}

export function encodeFrame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), "utf8");
  if (body.length > MAX_FRAME_BYTES) throw new FrameError(`a frame of ${body.length} bytes is larger than ${MAX_FRAME_BYTES}`);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Reassembles frames from stream chunks of any size. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** Adds a chunk and returns every frame it completed, in order. */
  push(chunk: Buffer): unknown[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: unknown[] = [];
    for (;;) {
      if (this.#buffered < 4) return frames;
      const head = this.#peek(4);
      const size = head.readUInt32BE(0);
      if (size > MAX_FRAME_BYTES) throw new FrameError(`a frame announced ${size} bytes, more than ${MAX_FRAME_BYTES}`);
      if (this.#buffered < 4 + size) return frames;
      const all = this.#take(4 + size);
      const text = all.toString("utf8", 4);
      try {
        frames.push(JSON.parse(text) as unknown);
      } catch (err) {
        throw new FrameError("a frame is not JSON", { cause: err });
      }
    }
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.#chunks);
    this.#chunks = [joined];
    return joined;
  }

  #take(n: number): Buffer {
    const joined = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const taken = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return taken;
  }
}
