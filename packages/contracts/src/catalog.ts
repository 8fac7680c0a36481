import { z } from "zod";
import type { ConsumerDef, EventDef, KvDef, RpcDef, StreamDef } from "./catalog-types.js";
import { JobLogSchema, RunCompletedSchema, TrainingSubmittedSchema } from "./events/training.js";
import { ModelRegisteredSchema } from "./events/registry.js";
import { DatabaseHealthSchema, StatusSnapshotSchema } from "./status.js";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

// ---- Streams -------------------------------------------------------------------------

export const STREAMS = {
  training: {
    name: "TRAINING",
    subjects: ["training.submitted"],
    retention: "workqueue",
    storage: "file",
    duplicateWindowMs: 2 * MINUTE,
    description: "The runners' work queue: one message per accepted job, deleted once a runner acks it.",
  },
  jobLogs: {
    name: "JOB_LOGS",
    subjects: ["job.log.>"],
    retention: "limits",
    storage: "file",
    maxAgeMs: 7 * DAY,
    maxBytes: 1024 * 1024 * 1024,
    duplicateWindowMs: 2 * MINUTE,
    description: "Output batches of every job attempt, per-job subjects; the scheduler keeps the durable copy.",
  },
  runs: {
    name: "RUNS",
    subjects: ["run.completed"],
    retention: "limits",
    storage: "file",
    maxAgeMs: 30 * DAY,
    duplicateWindowMs: 2 * MINUTE,
    description: "End of every job attempt; consumed by the scheduler, the registry and external consumers.",
  },
  models: {
    name: "MODELS",
    subjects: ["model.registered", "model.alias.>", "model.registration_failed"],
    retention: "limits",
    storage: "file",
    maxAgeMs: 90 * DAY,
    duplicateWindowMs: 2 * MINUTE,
    description: "Registry events: new versions, alias moves, failed automatic registrations.",
  },
} as const satisfies Record<string, StreamDef>;

// ---- Public events -------------------------------------------------------------------

export const EVENTS = {
  trainingSubmitted: {
    subject: "training.submitted",
    schema: TrainingSubmittedSchema,
    stream: STREAMS.training,
    public: true,
    schemaVersion: 1,
    description: "A training job was accepted and stored; runners pull it from here.",
  },
  jobLog: {
    subject: "job.log.*",
    schema: JobLogSchema,
    stream: STREAMS.jobLogs,
    public: true,
    schemaVersion: 1,
    description: "A batch of a job's output lines, on `job.log.<job_id>`.",
  },
  runCompleted: {
    subject: "run.completed",
    schema: RunCompletedSchema,
    stream: STREAMS.runs,
    public: true,
    schemaVersion: 1,
    description: "An attempt of a job ended (succeeded, failed, timed out, cancelled or lost).",
  },
  modelRegistered: {
    subject: "model.registered",
    schema: ModelRegisteredSchema,
    stream: STREAMS.models,
    public: true,
    schemaVersion: 1,
    description: "A model version is READY in the registry.",
  },
} as const satisfies Record<string, EventDef>;

/** Subject of one job's log batches. */
export const jobLogSubject = (jobId: string) => `job.log.${jobId}`;

// ---- Durable consumers ---------------------------------------------------------------

export const CONSUMERS = {
  runners: {
    stream: STREAMS.training,
    durable: "python-runners",
    filterSubject: "training.submitted",
    ackWaitMs: 30_000,
    maxDeliver: 5,
    // One message per runner slot is in flight at a time; this caps the whole fleet.
    maxAckPending: 256,
    deliverPolicy: "all",
    description: "Shared by every python-runner replica; one message at a time per slot.",
  },
} as const satisfies Record<string, ConsumerDef>;

// ---- Key-value buckets ---------------------------------------------------------------

export const KV = {
  status: {
    bucket: "asgard_status",
    schema: StatusSnapshotSchema,
    history: 1,
    storage: "file",
    description: "Latest platform status snapshot under the key `snapshot`.",
  },
} as const satisfies Record<string, KvDef>;

export const STATUS_SNAPSHOT_KEY = "snapshot";

// ---- Request/reply endpoints ---------------------------------------------------------

export const RPC = {
  databaseHealth: {
    subject: "rpc.scheduler.database_health",
    request: z.object({}),
    response: DatabaseHealthSchema,
    timeoutMs: 2_000,
    description: "The job-scheduler reports its database's health (only it opens the database).",
  },
} as const satisfies Record<string, RpcDef>;

/** Queue group shared by the replicas serving each endpoint. */
export const rpcQueueGroup = (def: RpcDef) => `q.${def.subject}`;
