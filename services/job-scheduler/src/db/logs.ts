import type { LogLine } from "@asgard/contracts";
import type { LogLineRow, SchedulerDb, SchedulerTrx } from "./schema.js";

/** Rows per INSERT: well under PostgreSQL's 65 535 bind parameters at 7 columns a row. */
const INSERT_CHUNK = 1_000;

/**
 * Records that a batch of an attempt arrived: "fresh" the first time, "duplicate" for a
 * redelivery. With `afterStored`, only once that earlier batch of the attempt is recorded
 * ("early" until then); the check rides on the insert, so a batch in order costs no query more.
 */
export async function recordBatch(
  trx: SchedulerTrx,
  batch: { jobId: string; attempt: number; batch: number; lineCount: number; at: Date },
  afterStored: number | null = null,
): Promise<"fresh" | "duplicate" | "early"> {
  const row = {
    job_id: batch.jobId,
    attempt: batch.attempt,
    batch: batch.batch,
    line_count: batch.lineCount,
    stored_at: batch.at,
  };
  const insert = trx.insertInto("job_log_batches");
  const query =
    afterStored === null
      ? insert.values(row)
      : insert.columns(["job_id", "attempt", "batch", "line_count", "stored_at"]).expression(
          trx
            .selectNoFrom((eb) => [
              eb.cast<string>(eb.val(row.job_id), "text").as("job_id"),
              eb.cast<number>(eb.val(row.attempt), "integer").as("attempt"),
              eb.cast<number>(eb.val(row.batch), "integer").as("batch"),
              eb.cast<number>(eb.val(row.line_count), "integer").as("line_count"),
              eb.cast<Date>(eb.val(row.stored_at), "timestamptz").as("stored_at"),
            ])
            .where((eb) =>
              eb.exists(
                eb
                  .selectFrom("job_log_batches")
                  .select("batch")
                  .where("job_id", "=", row.job_id)
                  .where("attempt", "=", row.attempt)
                  .where("batch", "=", afterStored),
              ),
            ),
        );
  const inserted = await query
    .onConflict((oc) => oc.columns(["job_id", "attempt", "batch"]).doNothing())
    .returning("batch")
    .executeTakeFirst();
  if (inserted !== undefined) return "fresh";
  if (afterStored === null) return "duplicate";
  const stored = await trx
    .selectFrom("job_log_batches")
    .select("batch")
    .where("job_id", "=", row.job_id)
    .where("attempt", "=", row.attempt)
    .where("batch", "=", row.batch)
    .executeTakeFirst();
  return stored ? "duplicate" : "early";
}

/** Whether batches 1..lastBatch of the attempt are all stored. */
export async function batchesComplete(trx: SchedulerTrx, jobId: string, attempt: number, lastBatch: number): Promise<boolean> {
  if (lastBatch === 0) return true;
  const row = await trx
    .selectFrom("job_log_batches")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("job_id", "=", jobId)
    .where("attempt", "=", attempt)
    .where("batch", ">=", 1)
    .where("batch", "<=", lastBatch)
    .executeTakeFirstOrThrow();
  return Number(row.n) === lastBatch;
}

/** A line to append; `at` as stored. */
export interface NewLogLine {
  stream: LogLine["stream"];
  text: string;
  at: Date;
}

/**
 * Appends lines (at least one) at the end of the job's log, numbering them on from the job's
 * line count, and returns the number of the first. The caller holds the job's lock, so the count it reads
 * cannot move under it.
 */
export async function appendLines(
  trx: SchedulerTrx,
  jobId: string,
  origin: { attempt: number; batch: number },
  lines: readonly NewLogLine[],
): Promise<number> {
  if (lines.length === 0) throw new RangeError("appendLines needs at least one line");
  const counted = await trx
    .updateTable("jobs")
    .set((eb) => ({ log_lines: eb("log_lines", "+", lines.length) }))
    .where("job_id", "=", jobId)
    .returning("log_lines")
    .executeTakeFirstOrThrow();
  const first = counted.log_lines - lines.length;
  for (let start = 0; start < lines.length; start += INSERT_CHUNK) {
    const chunk = lines.slice(start, start + INSERT_CHUNK);
    await trx
      .insertInto("job_logs")
      .values(
        chunk.map((line, i) => ({
          job_id: jobId,
          line_no: first + start + i,
          attempt: origin.attempt,
          batch: origin.batch,
          stream: line.stream,
          text: line.text,
          at: line.at,
        })),
      )
      .execute();
  }
  return first;
}

/** Every stored line's text, in order. Bounded by the per-job log limit. */
export async function readLogTexts(db: SchedulerDb, jobId: string): Promise<string[]> {
  const rows = await db.selectFrom("job_logs").select("text").where("job_id", "=", jobId).orderBy("line_no").execute();
  return rows.map((r) => r.text);
}

/** Lines `offset`, `offset + 1`, … (at most `limit`). */
export async function readLogPage(db: SchedulerDb, jobId: string, offset: number, limit: number): Promise<LogLineRow[]> {
  return db
    .selectFrom("job_logs")
    .selectAll()
    .where("job_id", "=", jobId)
    .where("line_no", ">=", offset)
    .orderBy("line_no")
    .limit(limit)
    .execute();
}
