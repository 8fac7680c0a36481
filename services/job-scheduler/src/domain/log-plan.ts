import type { LogLine } from "@asgard/contracts";

/** How much of a job's output is already accounted for. */
export interface LogAccount {
  /** Bytes received so far (each line's UTF-8 bytes plus its newline), stored or not. */
  bytes: number;
  /** The bound was hit: nothing more is stored. */
  truncated: boolean;
}

/** What to do with one incoming batch. */
export interface BatchPlan {
  /** Lines to store, in order. */
  keep: LogLine[];
  /** This batch crossed the bound: store the truncation marker after `keep`. */
  marker: boolean;
  account: LogAccount;
}

/** Bytes a line counts for: its UTF-8 text and the newline that joins it to the next. */
export const lineBytes = (text: string): number => Buffer.byteLength(text, "utf8") + 1;

/** The system line stored once where a job's output stops being kept; names the cap and its setting. */
export const truncationMarker = (maxBytes: number): string =>
  `[asgard] output truncated: the job's output reached its cap of ${maxBytes} bytes (MAX_LOG_BYTES); the rest is not kept`;

/** The system line stored when an attempt ended but some of its log batches never came. */
export const missingLogsMarker = (attempt: number): string => `[some log lines of attempt ${attempt} never arrived]`;

/** The system line stored when a runner starts another attempt of the job. */
export const attemptMarker = (attempt: number, runnerId: string): string =>
  `[attempt ${attempt} started on runner ${runnerId}; output of earlier attempts ends above]`;

/**
 * Keeps whole lines while the job's output stays within `maxBytes`; the first line that does
 * not fit ends storage for good (one marker), and later bytes are only counted.
 */
export function planBatch(lines: readonly LogLine[], account: LogAccount, maxBytes: number): BatchPlan {
  let { bytes, truncated } = account;
  let marker = false;
  const keep: LogLine[] = [];
  for (const line of lines) {
    const size = lineBytes(line.text);
    if (!truncated && bytes + size <= maxBytes) {
      keep.push(line);
    } else if (!truncated) {
      truncated = true;
      marker = true;
    }
    bytes += size;
  }
  return { keep, marker, account: { bytes, truncated } };
}

/**
 * Joins stored lines for a job answer within `budgetBytes` of JSON-encoded text, so the reply
 * fits one NATS message. Lines past it are left out, with a marker saying where to read them.
 */
export function joinLogs(texts: readonly string[], budgetBytes: number): { logs: string; cut: boolean } {
  let used = 0;
  let count = 0;
  for (const text of texts) {
    // JSON size of the line without its quotes, plus the escaped "\n" that separates it.
    const size = Buffer.byteLength(JSON.stringify(text), "utf8") - 2 + 2;
    if (used + size > budgetBytes) break;
    used += size;
    count++;
  }
  if (count === texts.length) return { logs: texts.join("\n"), cut: false };
  const rest = texts.length - count;
  const marker = `[log shortened here: ${rest} more line${rest === 1 ? "" : "s"}; read them from the job's /logs]`;
  return { logs: [...texts.slice(0, count), marker].join("\n"), cut: true };
}

/**
 * A page of lines within `budgetBytes` of JSON (a reply is one NATS message). A single line
 * over the budget is sent shortened, so paging always moves on.
 */
export function fitPage(lines: readonly LogLine[], budgetBytes: number): LogLine[] {
  const page: LogLine[] = [];
  let used = 0;
  for (const line of lines) {
    const size = Buffer.byteLength(JSON.stringify(line), "utf8") + 1;
    if (used + size > budgetBytes) {
      if (page.length === 0) {
        // Worst case a character takes 6 bytes of JSON (\u00XX); leave room for the rest of the line.
        const room = Math.max(0, Math.floor(budgetBytes / 6) - 64);
        page.push({ ...line, text: `${line.text.slice(0, room)} [line shortened]` });
      }
      break;
    }
    used += size;
    page.push(line);
  }
  return page;
}
