import type { JobPhase, JobResources, JobScope, JobStatus } from "@asgard/contracts";
import { sql, type Updateable } from "kysely";
import type { PageCursor } from "../domain/page-token.js";
import type { AttemptFault, AttemptOutcome, EarlyRegistration } from "../domain/state-machine.js";
import { jsonb, jsonbOrNull } from "./json.js";
import type { JobRow, JobsTable, SchedulerDb, SchedulerTrx } from "./schema.js";

/** Name of the unique constraint on a tenant's idempotency keys (see the migrations). */
export const IDEMPOTENCY_CONSTRAINT = "jobs_tenant_idempotency_key_unique";

/**
 * First key of the transaction-scoped advisory locks that serialise the creates of one tenant
 * (the second is a hash of the tenant's name); distinct from any other lock the database takes.
 */
const TENANT_CREATE_LOCK = 0x4a4f4253;

/** A job as created: queued, not yet published. */
export interface NewJob {
  job_id: string;
  tenant: string;
  script_name: string;
  script_sha256: string;
  script_bytes: number;
  experiment_name: string;
  model_name: string;
  requirements: string[];
  environment_vars: Record<string, string>;
  tags: Record<string, string>;
  timeout_seconds: number;
  idempotency_key: string | null;
  request_hash: string;
  created_at: Date;
  deadline_at: Date;
  /** The creating request's span, the parent of every event about the job; absent: untraced. */
  traceparent?: string | null;
  tracestate?: string | null;
  /** What the job may use; null: the runner's defaults (a gateway that predates per-job limits). */
  resources?: JobResources | null;
}

const queuedRow = (job: NewJob) => ({
  ...job,
  requirements: jsonb(job.requirements),
  environment_vars: jsonb(job.environment_vars),
  tags: jsonb(job.tags),
  resources: jsonbOrNull(job.resources ?? null),
  status: "queued" as const,
  phase: "queued" as const,
  updated_at: job.created_at,
});

/** Throws the database's unique violation when the tenant's idempotency key is taken. */
export async function insertJob(db: SchedulerDb | SchedulerTrx, job: NewJob): Promise<JobRow> {
  return db.insertInto("jobs").values(queuedRow(job)).returningAll().executeTakeFirstOrThrow();
}

/**
 * Inserts many jobs in one statement. A job whose tenant's idempotency key is taken (by a row
 * committed before, by a concurrent transaction, or by an earlier job of this batch) is skipped
 * rather than failing the others: it is missing from the rows returned.
 */
export async function insertJobsSkippingTakenKeys(trx: SchedulerDb | SchedulerTrx, jobs: NewJob[]): Promise<JobRow[]> {
  if (jobs.length === 0) return [];
  // Rows go in key order: two batches inserting the same keys then wait on each other in one
  // order, never in a cycle (a deadlock would cost a second and a retry of both batches job by job).
  const inKeyOrder = [...jobs].sort((a, b) => compareKeys(a, b));
  return trx
    .insertInto("jobs")
    .values(inKeyOrder.map(queuedRow))
    .onConflict((oc) => oc.constraint(IDEMPOTENCY_CONSTRAINT).doNothing())
    .returningAll()
    .execute();
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const compareKeys = (a: NewJob, b: NewJob): number =>
  a.tenant === b.tenant ? byCodeUnits(a.idempotency_key ?? "", b.idempotency_key ?? "") : byCodeUnits(a.tenant, b.tenant);

export async function findJob(db: SchedulerDb | SchedulerTrx, jobId: string): Promise<JobRow | undefined> {
  return db.selectFrom("jobs").selectAll().where("job_id", "=", jobId).executeTakeFirst();
}

/** The job holding the tenant's idempotency key, however old. */
export async function findJobByIdempotencyKey(db: SchedulerDb | SchedulerTrx, tenant: string, key: string): Promise<JobRow | undefined> {
  return db
    .selectFrom("jobs")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("idempotency_key", "=", key)
    .executeTakeFirst();
}

/** The jobs holding any of these (tenant, key) pairs, however old. */
export async function findJobsByIdempotencyKeys(
  db: SchedulerDb | SchedulerTrx,
  keys: Array<{ tenant: string; key: string }>,
): Promise<JobRow[]> {
  if (keys.length === 0) return [];
  return db
    .selectFrom("jobs")
    .selectAll()
    .where((eb) => eb(eb.refTuple("tenant", "idempotency_key"), "in", keys.map((k) => eb.tuple(k.tenant, k.key))))
    .execute();
}

/** Frees expired idempotency keys for new jobs; the old jobs keep everything else. */
export async function releaseIdempotencyKeys(trx: SchedulerTrx, jobIds: string[]): Promise<void> {
  if (jobIds.length === 0) return;
  await trx.updateTable("jobs").set({ idempotency_key: null }).where("job_id", "in", jobIds).execute();
}

/** Frees an expired idempotency key for a new job; the old job keeps everything else. */
export async function releaseIdempotencyKey(trx: SchedulerTrx, jobId: string): Promise<void> {
  await trx.updateTable("jobs").set({ idempotency_key: null }).where("job_id", "=", jobId).execute();
}

/**
 * Takes the tenant's create lock until the transaction ends: creates in one tenant queue
 * behind each other (a count taken after it sees every job committed before), creates in
 * different tenants do not (unless their names' hashes collide, which only serialises them).
 */
export async function lockTenantCreates(trx: SchedulerTrx, tenant: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(${TENANT_CREATE_LOCK}, hashtext(${tenant}))`.execute(trx);
}

/** Queued and running jobs of each of these tenants (a tenant with none is absent). */
export async function countLiveJobsByTenant(trx: SchedulerTrx, tenants: string[]): Promise<Map<string, number>> {
  if (tenants.length === 0) return new Map();
  const rows = await trx
    .selectFrom("jobs")
    .select((eb) => ["tenant", eb.fn.countAll<string>().as("n")])
    .where("tenant", "in", tenants)
    .where("status", "in", ["queued", "running"])
    .groupBy("tenant")
    .execute();
  return new Map(rows.map((r) => [r.tenant, Number(r.n)]));
}

/** The tenant's queued and running jobs. */
export async function countLiveJobs(db: SchedulerDb | SchedulerTrx, tenant: string): Promise<number> {
  const row = await db
    .selectFrom("jobs")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("tenant", "=", tenant)
    .where("status", "in", ["queued", "running"])
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface ListFilter {
  /** Whose list it is: a non-admin scope sees its own tenant's jobs only (domain/scope.ts's rule). */
  scope: JobScope;
  /** Only this tenant's jobs. */
  tenant?: string | undefined;
  status?: JobStatus | undefined;
  experimentName?: string | undefined;
  /** Keyset: only jobs strictly older than this one in (created_at, job_id) order. */
  after: PageCursor | null;
  limit: number;
}

/** Jobs newest first; ties on created_at broken by job id, so paging never skips or repeats. */
export async function listJobs(db: SchedulerDb, filter: ListFilter): Promise<JobRow[]> {
  let query = db.selectFrom("jobs").selectAll();
  if (!filter.scope.admin) query = query.where("tenant", "=", filter.scope.tenant);
  if (filter.tenant !== undefined) query = query.where("tenant", "=", filter.tenant);
  if (filter.status) query = query.where("status", "=", filter.status);
  if (filter.experimentName !== undefined) query = query.where("experiment_name", "=", filter.experimentName);
  if (filter.after) {
    const { createdAt, jobId } = filter.after;
    query = query.where((eb) => eb(eb.refTuple("created_at", "job_id"), "<", eb.tuple(createdAt, jobId)));
  }
  return query.orderBy("created_at", "desc").orderBy("job_id", "desc").limit(filter.limit).execute();
}

/**
 * Runs `fn` in a transaction holding the job's row lock, so claims, outcomes, logs, cancels
 * and deadlines of one job never interleave. `fn` must use `trx` only: the embedded database
 * is one session, and a query on `db` inside would wait for this transaction for ever.
 */
export async function withLockedJob<T>(
  db: SchedulerDb,
  jobId: string,
  fn: (trx: SchedulerTrx, job: JobRow | undefined) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const job = await trx.selectFrom("jobs").selectAll().where("job_id", "=", jobId).forUpdate().executeTakeFirst();
    return fn(trx, job);
  });
}

/** Columns a transition may change; jsonb ones take plain values. */
export type JobPatch = Omit<
  Updateable<JobsTable>,
  "job_id" | "requirements" | "environment_vars" | "tags" | "pending_outcome" | "early_registration" | "faults" | "updated_at"
> & {
  pending_outcome?: AttemptOutcome | null;
  early_registration?: EarlyRegistration | null;
  faults?: AttemptFault[];
};

/** Applies a patch to a locked job and returns the new row. */
export async function updateJob(trx: SchedulerTrx, jobId: string, patch: JobPatch, now: Date): Promise<JobRow> {
  const { pending_outcome, early_registration, faults, ...plain } = patch;
  return trx
    .updateTable("jobs")
    .set({
      ...plain,
      ...(pending_outcome !== undefined ? { pending_outcome: jsonbOrNull(pending_outcome) } : {}),
      ...(early_registration !== undefined ? { early_registration: jsonbOrNull(early_registration) } : {}),
      ...(faults !== undefined ? { faults: jsonb(faults) } : {}),
      updated_at: now,
    })
    .where("job_id", "=", jobId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Queued jobs whose training.submitted the stream has not acknowledged yet, oldest first;
 * only jobs created before `createdBefore` (younger ones are still being published by their create),
 * and none of `excluding`.
 */
export async function findUnpublished(db: SchedulerDb, limit: number, createdBefore: Date, excluding: string[] = []): Promise<JobRow[]> {
  return db
    .selectFrom("jobs")
    .selectAll()
    .where("status", "=", "queued")
    .where("published_at", "is", null)
    .where("created_at", "<", createdBefore)
    .$if(excluding.length > 0, (q) => q.where("job_id", "not in", excluding))
    .orderBy("created_at")
    .limit(limit)
    .execute();
}

/** An acknowledged training.submitted: the job and the attempt it was published for. */
export interface PublishedAttempt {
  jobId: string;
  attempt: number;
}

/**
 * Records the stream's acks in one statement (the first ack of each wins). An ack counts only
 * for the attempt it was published for: a late mark of an earlier attempt must not hide a job
 * queued again after a lost attempt, whose own message may not be out yet.
 */
export async function markPublished(db: SchedulerDb, acks: PublishedAttempt[], at: Date): Promise<void> {
  if (acks.length === 0) return;
  await db
    .updateTable("jobs")
    .set({ published_at: at })
    .where(({ eb, refTuple, tuple }) => eb(refTuple("job_id", "attempt"), "in", acks.map((a) => tuple(a.jobId, a.attempt))))
    .where("published_at", "is", null)
    .execute();
}

/**
 * Live jobs that may be overdue: past their state's deadline, or (while an attempt runs)
 * silent since `heartbeatCutoff`. The state machine makes the final call under the lock.
 */
export async function findOverdueCandidates(
  db: SchedulerDb,
  now: Date,
  heartbeatCutoff: Date,
  limit: number,
): Promise<string[]> {
  const watched: JobPhase[] = ["building_env", "running"];
  const rows = await db
    .selectFrom("jobs")
    .select("job_id")
    .where("status", "in", ["queued", "running"])
    .where((eb) =>
      eb.or([
        eb("deadline_at", "<=", now),
        eb.and([
          eb("status", "=", "running"),
          eb("pending_outcome", "is", null),
          eb("phase", "in", watched),
          eb("last_heartbeat_at", "<=", heartbeatCutoff),
        ]),
      ]),
    )
    .orderBy("deadline_at")
    .limit(limit)
    .execute();
  return rows.map((r) => r.job_id);
}

/** A runner still holds this attempt; returns whether a live row matched. */
export async function recordHeartbeat(db: SchedulerDb, jobId: string, attempt: number, at: Date): Promise<boolean> {
  const result = await db
    .updateTable("jobs")
    .set({ last_heartbeat_at: at })
    .where("job_id", "=", jobId)
    .where("attempt", "=", attempt)
    .where("status", "=", "running")
    // Never move it back: heartbeats and progress reports may arrive out of order.
    .where((eb) => eb.or([eb("last_heartbeat_at", "is", null), eb("last_heartbeat_at", "<", at)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Number of jobs in each status. */
export async function countByStatus(db: SchedulerDb): Promise<Array<{ status: JobStatus; count: number }>> {
  const rows = await db
    .selectFrom("jobs")
    .select(["status", sql<string>`count(*)`.as("count")])
    .groupBy("status")
    .execute();
  return rows.map((r) => ({ status: r.status, count: Number(r.count) }));
}
