import { isUniqueViolation } from "@asgard/db";
import { createBatcher, type Batcher, type ItemOutcome } from "./batcher.js";
import type { SchedulerContext } from "./context.js";
import {
  countLiveJobs,
  countLiveJobsByTenant,
  findJob,
  findJobByIdempotencyKey,
  findJobsByIdempotencyKeys,
  IDEMPOTENCY_CONSTRAINT,
  insertJob,
  insertJobsSkippingTakenKeys,
  lockTenantCreates,
  releaseIdempotencyKey,
  releaseIdempotencyKeys,
  type NewJob,
} from "./db/jobs.js";
import type { JobRow, SchedulerTrx } from "./db/schema.js";

/** What became of a job offered for storage: stored, answered by its key's job, or refused by the tenant's bound. */
export type Admission = { kind: "created" | "existing"; row: JobRow } | { kind: "refused"; active: number };

/** Whether an idempotency key still names its job. */
export function keyLive(ctx: Pick<SchedulerContext, "now" | "config">, holder: Pick<JobRow, "created_at">): boolean {
  return holder.created_at.getTime() > ctx.now().getTime() - ctx.config.idempotencyKeyTtlMs;
}

/** What storing jobs needs of the scheduler. */
export type AdmissionContext = Pick<SchedulerContext, "db" | "config" | "logger" | "now">;

const keyOf = (tenant: string, key: string) => JSON.stringify([tenant, key]);

/**
 * Stores the jobs of concurrent creates together: one transaction and one multi-row INSERT per
 * batch, so a burst of uploads pays one commit between them instead of one each. Each caller
 * hears about its own job once the batch's transaction committed.
 */
export function createAdmissions(ctx: AdmissionContext): Batcher<NewJob, Admission> {
  return createBatcher<NewJob, Admission>({
    maxItems: ctx.config.createBatchRows,
    maxWaitMs: ctx.config.createBatchWaitMs,
    flush: (jobs) => admitBatch(ctx, jobs),
  });
}

/**
 * The batch in one transaction, with the rules of {@link admitOne}: the tenants' locks (in name
 * order, so two batches never wait on each other in a cycle), live keys answered by their
 * jobs, expired keys released, each tenant's bound applied in arrival order, then one INSERT
 * that skips a key taken meanwhile. If the transaction fails, every job is tried again on its
 * own, so one bad job fails alone and never takes its batch neighbours with it.
 */
export async function admitBatch(ctx: AdmissionContext, jobs: NewJob[]): Promise<Array<ItemOutcome<Admission>>> {
  const [only] = jobs;
  if (jobs.length === 1 && only) return [await settle(admitOne(ctx, only))];
  let decided: Array<Admission | null>;
  try {
    decided = insertsAlone(ctx, jobs)
      ? createdOrNull(jobs, await insertJobsSkippingTakenKeys(ctx.db, jobs))
      : await ctx.db.transaction().execute((trx) => decide(ctx, trx, jobs));
  } catch (err) {
    ctx.logger.warn({ err, jobs: jobs.length }, "a batch of creates failed; storing each job on its own");
    return Promise.all(jobs.map((job) => settle(admitUnlessStored(ctx, job))));
  }
  // Skipped by the INSERT: a concurrent create took the key and committed; the key's winner answers.
  return Promise.all(
    jobs.map((job, i) => {
      const admission = decided[i];
      return settle(admission ? Promise.resolve(admission) : admitOne(ctx, job));
    }),
  );
}

/**
 * Nothing to lock, count or look up: no tenant bound and no idempotency key. The INSERT alone
 * decides, and one statement is a transaction of its own: BEGIN and COMMIT would only add two
 * round trips to every batch.
 */
const insertsAlone = (ctx: AdmissionContext, jobs: NewJob[]): boolean =>
  ctx.config.maxActiveJobsPerTenant <= 0 && jobs.every((job) => job.idempotency_key === null);

const createdOrNull = (jobs: NewJob[], inserted: JobRow[]): Array<Admission | null> => {
  const byId = new Map(inserted.map((row) => [row.job_id, row]));
  return jobs.map((job) => {
    const row = byId.get(job.job_id);
    return row ? { kind: "created", row } : null;
  });
};

async function decide(ctx: AdmissionContext, trx: SchedulerTrx, jobs: NewJob[]): Promise<Array<Admission | null>> {
  const limit = ctx.config.maxActiveJobsPerTenant;
  const tenants = [...new Set(jobs.map((j) => j.tenant))].sort();
  if (limit > 0) for (const tenant of tenants) await lockTenantCreates(trx, tenant);
  const decided: Array<Admission | null> = jobs.map(() => null);

  const keys = new Map<string, { tenant: string; key: string }>();
  for (const job of jobs) if (job.idempotency_key !== null) keys.set(keyOf(job.tenant, job.idempotency_key), { tenant: job.tenant, key: job.idempotency_key });
  const holders = new Map((await findJobsByIdempotencyKeys(trx, [...keys.values()])).map((row) => [keyOf(row.tenant, row.idempotency_key ?? ""), row]));
  const expired = [...holders.values()].filter((row) => !keyLive(ctx, row));
  await releaseIdempotencyKeys(trx, expired.map((row) => row.job_id));
  // A key sent twice in one batch: the first create decides for both, as if they came one after the other.
  const leaders = new Map<string, number>();
  const leaderOf: Array<number | null> = jobs.map(() => null);
  jobs.forEach((job, i) => {
    if (job.idempotency_key === null) return;
    const key = keyOf(job.tenant, job.idempotency_key);
    const holder = holders.get(key);
    const leader = leaders.get(key);
    if (holder && keyLive(ctx, holder)) decided[i] = { kind: "existing", row: holder };
    else if (leader !== undefined) leaderOf[i] = leader;
    else leaders.set(key, i);
  });
  const candidate = (i: number) => decided[i] === null && leaderOf[i] === null;

  if (limit > 0) {
    const active = await countLiveJobsByTenant(trx, tenants);
    jobs.forEach((job, i) => {
      if (!candidate(i)) return;
      const count = active.get(job.tenant) ?? 0;
      if (count >= limit) decided[i] = { kind: "refused", active: count };
      else active.set(job.tenant, count + 1);
    });
  }

  const created = createdOrNull(jobs, await insertJobsSkippingTakenKeys(trx, jobs.filter((_, i) => candidate(i))));
  jobs.forEach((_, i) => {
    if (candidate(i) && created[i]) decided[i] = created[i];
  });
  leaderOf.forEach((leader, i) => {
    const first = leader === null ? null : decided[leader];
    if (first) decided[i] = first.kind === "created" ? { kind: "existing", row: first.row } : first;
  });
  return decided;
}

/**
 * After a failed batch: a COMMIT whose answer was lost may still have stored the batch, so a
 * job already there is answered as created (the relay publishes it) instead of being stored
 * twice or failed while it exists.
 */
async function admitUnlessStored(ctx: AdmissionContext, job: NewJob): Promise<Admission> {
  const stored = await findJob(ctx.db, job.job_id);
  return stored && isThisJob(stored, job) ? { kind: "created", row: stored } : admitOne(ctx, job);
}

/** The stored row is this very create (not another job under the same id). */
const isThisJob = (row: JobRow, job: NewJob): boolean =>
  row.tenant === job.tenant && row.request_hash === job.request_hash && row.experiment_name === job.experiment_name && new Date(row.created_at).getTime() === job.created_at.getTime();

function settle<T>(promise: Promise<T>): Promise<ItemOutcome<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * One job in a transaction of its own: unless its tenant is at its bound of live jobs, or its
 * idempotency key names a job already. Under the tenant's lock the count and the insert cannot
 * interleave with another create of the tenant; a job ending meanwhile only lowers the count.
 * Without a bound there is nothing to count and no lock: the key's unique constraint settles races.
 */
export async function admitOne(ctx: AdmissionContext, job: NewJob): Promise<Admission> {
  const limit = ctx.config.maxActiveJobsPerTenant;
  if (insertsAlone(ctx, [job])) return { kind: "created", row: await insertJob(ctx.db, job) };
  try {
    return await ctx.db.transaction().execute(async (trx): Promise<Admission> => {
      if (limit > 0) await lockTenantCreates(trx, job.tenant);
      if (job.idempotency_key !== null) {
        const holder = await findJobByIdempotencyKey(trx, job.tenant, job.idempotency_key);
        if (holder && keyLive(ctx, holder)) return { kind: "existing", row: holder };
        if (holder) await releaseIdempotencyKey(trx, holder.job_id);
      }
      if (limit > 0) {
        const active = await countLiveJobs(trx, job.tenant);
        if (active >= limit) return { kind: "refused", active };
      }
      return { kind: "created", row: await insertJob(trx, job) };
    });
  } catch (err) {
    // Two creates with one key raced (with a limit, the lock orders them and this is a second line): the key's winner answers.
    if (job.idempotency_key !== null && isUniqueViolation(err, IDEMPOTENCY_CONSTRAINT)) {
      const winner = await findJobByIdempotencyKey(ctx.db, job.tenant, job.idempotency_key);
      if (winner) return { kind: "existing", row: winner };
    }
    throw err;
  }
}
