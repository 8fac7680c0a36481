import type { Readable } from "node:stream";

/** The longest line handed to `onLine`; longer lines arrive as several consecutive pieces. */
export const MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Splits a byte stream into UTF-8 lines. Works on bytes rather than decoded text so that a
 * multi-byte character split across two reads is decoded whole, and a runaway line (a
 * progress bar without newlines, a base64 blob) cannot grow memory without bound: it is cut
 * at `maxBytes`, on a character boundary.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxBytes: number = MAX_LINE_BYTES,
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes < 4) {
      throw new RangeError(`maxBytes must be an integer >= 4, got ${maxBytes}`);
    }
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      this.append(chunk.subarray(start, nl === -1 ? chunk.length : nl));
      if (nl === -1) return;
      this.emitPending();
      start = nl + 1;
    }
  }

  /** Emits a last line that had no newline. */
  end(): void {
    if (this.pendingBytes > 0) this.emitPending();
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    this.pending.push(part);
    this.pendingBytes += part.length;
    // Strictly greater: a line of exactly maxBytes followed by its newline stays whole.
    while (this.pendingBytes > this.maxBytes) {
      const buf = Buffer.concat(this.pending, this.pendingBytes);
      const cut = utf8Boundary(buf, this.maxBytes);
      this.emit(buf.subarray(0, cut).toString("utf8"));
      const rest = buf.subarray(cut);
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
  }

  private emitPending(): void {
    let buf = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (buf.length > 0 && buf[buf.length - 1] === CARRIAGE_RETURN) buf = buf.subarray(0, -1);
    this.emit(buf.toString("utf8"));
  }
}

/**
 * The largest offset <= `at` that does not fall inside a UTF-8 sequence. Invalid input (more
 * than three continuation bytes in a row) is cut at `at` as is.
 */
function utf8Boundary(buf: Buffer, at: number): number {
  for (let i = at; i > 0 && at - i < 4; i--) {
    const byte = buf[i];
    if (byte === undefined || (byte & 0xc0) !== 0x80) return i;
  }
  return at;
}

/**
 * How long output is still read after the spawned process exited. In bwrap mode the pipes
 * close with the namespace; in process-group mode an escaped daemon can hold them for ever.
 */
const DRAIN_MS = 2000;

/** Feeds a stream into `onLine` line by line; resolves when the stream has ended. */
export function readLines(stream: Readable, onLine: (line: string) => void): { ended: Promise<void>; flush(): void } {
  const splitter = new LineSplitter(onLine);
  let flushed = false;
  const flush = (): void => {
    if (flushed) return;
    flushed = true;
    stream.removeAllListeners("data");
    splitter.end();
  };
  stream.on("data", (chunk: Buffer) => splitter.push(chunk));
  const ended = new Promise<void>((resolve) => {
    const finish = (): void => {
      flush();
      resolve();
    };
    stream.once("end", finish);
    stream.once("close", finish);
    stream.once("error", finish);
  });
  return { ended, flush };
}

export async function drain(outputs: Array<{ ended: Promise<void>; flush(): void }>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DRAIN_MS);
  });
  await Promise.race([Promise.all(outputs.map((o) => o.ended)), deadline]);
  clearTimeout(timer);
  for (const o of outputs) o.flush();
}
