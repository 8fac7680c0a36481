import { z } from "zod";
import type { ConsumerDef, EventDef, KvDef, Payload, RpcDef, SignalDef, StreamDef } from "./catalog-types.js";
import { subjectOf } from "./subjects.js";
import { DEFAULT_TENANT, type Tenant } from "./tenant.js";
import { JobLogDeadLetterSchema, JobLogSchema, RunCompletedSchema, TrainingSubmittedSchema } from "./events/training.js";
import { ModelRegisteredSchema, RegistrationFailedSchema } from "./events/registry.js";
import {
  AuditAliasDeletedSchema,
  AuditAliasSetSchema,
  AuditJobCancelledSchema,
  AuditJobSubmittedSchema,
  AuditKeyCreatedSchema,
  AuditKeyRevokedSchema,
  AuditVersionRegisteredSchema,
} from "./events/audit.js";
import { RateCountsSchema } from "./rate-counts.js";
import { DatabaseHealthSchema, InferenceHealthSchema, StatusSnapshotSchema } from "./status.js";
import { JobSchema } from "./http/jobs.js";
import { ApiKeyRecordSchema } from "./http/keys.js";
import {
  ClaimRequestSchema,
  ClaimResponseSchema,
  CreateJobRequestSchema,
  CreateJobResponseSchema,
  JobCancelSchema,
  JobLogsRequestSchema,
  JobLogsResponseSchema,
  JobLogStoredSchema,
  JobRefSchema,
  JobScriptSchema,
  ListJobsRequestSchema,
  ListJobsResponseSchema,
  ProgressRequestSchema,
  ProgressResponseSchema,
  RunnerHeartbeatSchema,
} from "./jobs-internal.js";
import {
  DeleteModelAliasRequestSchema,
  DeleteModelAliasResponseSchema,
  ListModelsRequestSchema,
  ListModelsResponseSchema,
  ModelAliasChangedSchema,
  ModelRefSchema,
  RegisterModelRequestSchema,
  RegisteredVersionSchema,
  RegistrationClaimSchema,
  RegistryModelChangedSchema,
  RegistryWatcherStateSchema,
  SetModelAliasRequestSchema,
  SetModelAliasResponseSchema,
  GetModelSignatureRequestSchema,
  GetModelSignatureResponseSchema,
  GetRunRequestSchema,
  GetRunResponseSchema,
  ListModelVersionsResponseSchema,
} from "./registry-internal.js";
import { ModelInfoSchema } from "./http/registry.js";
import {
  InferenceModelChangedSchema,
  InvokeRequestSchema,
  InvokeResponseSchema,
  ModelServingRequestSchema,
  ModelServingResponseSchema,
  PredictRequestSchema,
  PredictResponseSchema,
} from "./inference-internal.js";

/*
 * The one map of what crosses NATS. To add an event: declare it in EVENTS (on a stream whose
 * subjects take it in), add it to the `events` of every consumer whose filter lets it through
 * (catalog.test.ts names any that miss it), then handle it in each of their handler maps (the
 * compiler names those). A family member's subject is built with `subjectOf(def, token)`.
 */

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
  registryClaims: {
    name: "REGISTRY_CLAIMS",
    subjects: ["registry.claim.*"],
    retention: "limits",
    storage: "file",
    // The max age is the claim's lease: a replica that died holding a claim frees it after this.
    maxAgeMs: 2 * MINUTE,
    duplicateWindowMs: MINUTE,
    description: "The registry's claims on automatic registrations, one subject per job; the first write wins.",
  },
  audit: {
    name: "AUDIT",
    subjects: ["audit.>"],
    retention: "limits",
    storage: "file",
    maxAgeMs: 365 * DAY,
    duplicateWindowMs: 2 * MINUTE,
    description: "Who changed what through the API (jobs, model versions, aliases, API keys), kept a year.",
  },
  deadLetters: {
    name: "DEAD_LETTERS",
    subjects: ["dead_letter.>"],
    retention: "limits",
    storage: "file",
    maxAgeMs: 30 * DAY,
    duplicateWindowMs: 2 * MINUTE,
    description: "Messages a consumer parked after they failed delivery after delivery, for an operator to read; nothing consumes them.",
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
  jobLogDeadLetter: {
    subject: "dead_letter.job_log",
    schema: JobLogDeadLetterSchema,
    stream: STREAMS.deadLetters,
    public: false,
    schemaVersion: 1,
    description: "A job-log batch the scheduler could not store after several deliveries, parked with the reason; the batch stays in JOB_LOGS.",
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
    description:
      "A model version is READY in the registry: registered through the API, automatically for a job (then `job_id` is set), " +
      "or directly in MLflow (announced by the registry's poller within its interval, 5 s by default). Delivered at least once: " +
      "every announcement of one version for one job carries the same `event_id`, so a consumer drops repeats by it.",
  },
  registrationFailed: {
    subject: "model.registration_failed",
    schema: RegistrationFailedSchema,
    stream: STREAMS.models,
    public: false,
    schemaVersion: 1,
    description: "Automatic registration of a job's model failed (internal: completes the job with registration_error).",
  },
  modelAliasChanged: {
    subject: "model.alias.changed",
    schema: ModelAliasChangedSchema,
    stream: STREAMS.models,
    public: false,
    schemaVersion: 1,
    description: "An alias was set, moved or deleted (through the API, or seen in MLflow); inference follows it.",
  },
  registrationClaim: {
    subject: "registry.claim.*",
    schema: RegistrationClaimSchema,
    stream: STREAMS.registryClaims,
    public: false,
    schemaVersion: 1,
    description: "A registry replica claims a job's automatic registration, on `registry.claim.<job key>`.",
  },
  auditJobSubmitted: {
    subject: "audit.job.submitted",
    schema: AuditJobSubmittedSchema,
    stream: STREAMS.audit,
    public: true,
    schemaVersion: 1,
    description: "Audit: a training job was submitted (or an Idempotency-Key returned an earlier one: `replayed`).",
  },
  auditJobCancelled: {
    subject: "audit.job.cancelled",
    schema: AuditJobCancelledSchema,
    stream: STREAMS.audit,
    public: true,
    schemaVersion: 1,
    description: "Audit: the cancel of a job was accepted.",
  },
  auditVersionRegistered: {
    subject: "audit.model.version_registered",
    schema: AuditVersionRegisteredSchema,
    stream: STREAMS.audit,
    public: true,
    schemaVersion: 1,
    description: "Audit: a model version was registered through `POST /mlops/registry` (automatic registrations of jobs are `model.registered` events).",
  },
  auditAliasSet: {
    subject: "audit.model.alias_set",
    schema: AuditAliasSetSchema,
    stream: STREAMS.audit,
    public: true,
    schemaVersion: 1,
    description: "Audit: an alias was set or moved through the API.",
  },
  auditAliasDeleted: {
    subject: "audit.model.alias_deleted",
    schema: AuditAliasDeletedSchema,
    stream: STREAMS.audit,
    public: true,
    schemaVersion: 1,
    description: "Audit: an alias was deleted through the API.",
  },
  auditKeyCreated: {
    subject: "audit.api_key.created",
    schema: AuditKeyCreatedSchema,
    stream: STREAMS.audit,
    public: true,
    schemaVersion: 1,
    description: "Audit: an API key was created (through the API, or stored from the deployment's bootstrap secret: then `key_id` is null). Carries the new key's id, never the key.",
  },
  auditKeyRevoked: {
    subject: "audit.api_key.revoked",
    schema: AuditKeyRevokedSchema,
    stream: STREAMS.audit,
    public: true,
    schemaVersion: 1,
    description: "Audit: an API key was revoked.",
  },
} as const satisfies Record<string, EventDef>;

/**
 * The audit events by action (the `action` field, and the subject after `audit.`), so a
 * publisher types its target from the action it names.
 */
export const AUDIT_EVENTS = {
  "job.submitted": EVENTS.auditJobSubmitted,
  "job.cancelled": EVENTS.auditJobCancelled,
  "model.version_registered": EVENTS.auditVersionRegistered,
  "model.alias_set": EVENTS.auditAliasSet,
  "model.alias_deleted": EVENTS.auditAliasDeleted,
  "api_key.created": EVENTS.auditKeyCreated,
  "api_key.revoked": EVENTS.auditKeyRevoked,
} as const;
export type AuditAction = keyof typeof AUDIT_EVENTS;
export type AuditTarget<A extends AuditAction> = Payload<(typeof AUDIT_EVENTS)[A]>["target"];

/** Subject of one job's log batches. */
export const jobLogSubject = (jobId: string) => subjectOf(EVENTS.jobLog, jobId);

// ---- Durable consumers ---------------------------------------------------------------

/** Everything on the MODELS stream, for consumers that follow the registry as a whole. */
const MODEL_EVENTS = {
  modelRegistered: EVENTS.modelRegistered,
  modelAliasChanged: EVENTS.modelAliasChanged,
  registrationFailed: EVENTS.registrationFailed,
} as const;

export const CONSUMERS = {
  runners: {
    stream: STREAMS.training,
    durable: "python-runners",
    filterSubject: "training.submitted",
    events: { trainingSubmitted: EVENTS.trainingSubmitted },
    ackWaitMs: 30_000,
    maxDeliver: 5,
    // One message per runner slot is in flight at a time; this caps the whole fleet.
    maxAckPending: 256,
    deliverPolicy: "all",
    description: "Shared by every python-runner replica; one message at a time per slot.",
  },
  schedulerLogs: {
    stream: STREAMS.jobLogs,
    durable: "job-scheduler-logs",
    filterSubject: "job.log.>",
    events: { jobLog: EVENTS.jobLog },
    ackWaitMs: 30_000,
    maxDeliver: -1,
    maxAckPending: 1_000,
    deliverPolicy: "all",
    description: "The scheduler stores every log batch with its job.",
  },
  schedulerRuns: {
    stream: STREAMS.runs,
    durable: "job-scheduler-runs",
    filterSubject: "run.completed",
    events: { runCompleted: EVENTS.runCompleted },
    ackWaitMs: 30_000,
    maxDeliver: -1,
    maxAckPending: 1_000,
    deliverPolicy: "all",
    description: "The scheduler records the outcome of every attempt.",
  },
  schedulerRegistrations: {
    stream: STREAMS.models,
    durable: "job-scheduler-registrations",
    filterSubject: "model.>",
    events: MODEL_EVENTS,
    ackWaitMs: 30_000,
    maxDeliver: -1,
    maxAckPending: 1_000,
    deliverPolicy: "all",
    description: "The scheduler completes jobs whose model was registered (or failed to be).",
  },
  registryRuns: {
    stream: STREAMS.runs,
    durable: "registry-runs",
    filterSubject: "run.completed",
    events: { runCompleted: EVENTS.runCompleted },
    // A registration takes seconds; the handler sends working() while it waits for MLflow.
    ackWaitMs: 30_000,
    // Unlimited: MLflow may be down for a while; the registry itself gives up on an old event.
    maxDeliver: -1,
    maxAckPending: 100,
    deliverPolicy: "all",
    description: "The registry registers the model of every succeeded job that logged one.",
  },
  inferenceModels: {
    stream: STREAMS.models,
    durable: "inference-models",
    filterSubject: "model.>",
    events: MODEL_EVENTS,
    ackWaitMs: 30_000,
    // The handler only starts a warm-up and tells the other replicas; loading has its own retries.
    maxDeliver: 5,
    maxAckPending: 100,
    // A fresh deployment does not warm every model registered in the stream's 90 days.
    deliverPolicy: "new",
    description: "Shared by the inference replicas: warms new versions and alias targets, and tells every replica.",
  },
} as const satisfies Record<string, ConsumerDef>;

// ---- Signals (core NATS, not stored) -------------------------------------------------

export const SIGNALS = {
  runnerHeartbeat: {
    subject: "runner.heartbeat",
    schema: RunnerHeartbeatSchema,
    description: "Each runner's liveness, slots and held jobs; watched by the scheduler's reconciler.",
  },
  jobCancel: {
    subject: "job.cancel.*",
    schema: JobCancelSchema,
    description: "Cancel of a running job, on `job.cancel.<job_id>`; the runner holding it kills it.",
  },
  jobLogStored: {
    subject: "job.log_stored.*",
    schema: JobLogStoredSchema,
    description:
      "The scheduler stored lines of a job's log (or the job ended), on `job.log_stored.<job_id>`, with the lines and their offsets; " +
      "log streams send them on at once and read the database only for what they missed.",
  },
  registryModelChanged: {
    subject: "registry.model_changed",
    schema: RegistryModelChangedSchema,
    description: "A registry replica changed a model in MLflow; every replica re-reads it into its cache.",
  },
  inferenceModelChanged: {
    subject: "inference.model_changed",
    schema: InferenceModelChangedSchema,
    description: "An inference replica saw a new version or an alias move; every replica re-resolves and warms it.",
  },
} as const satisfies Record<string, SignalDef>;

/** Subject of the cancel of one job. */
export const jobCancelSubject = (jobId: string) => subjectOf(SIGNALS.jobCancel, jobId);

/** Subject of the "lines stored" signals of one job. */
export const jobLogStoredSubject = (jobId: string) => subjectOf(SIGNALS.jobLogStored, jobId);

// ---- Key-value buckets ---------------------------------------------------------------

export const KV = {
  status: {
    bucket: "asgard_status",
    schema: StatusSnapshotSchema,
    history: 1,
    storage: "file",
    description: "Latest platform status snapshot under the key `snapshot`.",
  },
  registryWatcher: {
    bucket: "asgard_registry_watcher",
    schema: RegistryWatcherStateSchema,
    history: 1,
    storage: "file",
    description:
      "Where the registry's MLflow poller stands in each tenant's workspace (`watcher` for default, `watcher.<tenant>` for the others), so it catches up after a restart.",
  },
  apiKeys: {
    bucket: "asgard_api_keys",
    schema: ApiKeyRecordSchema,
    history: 1,
    storage: "file",
    description: "API keys (their SHA-256, scopes, expiry, revocation) under their public id; every gateway replica follows the whole bucket.",
  },
  rateCounts: {
    bucket: "asgard_rate_counts",
    schema: RateCountsSchema,
    history: 1,
    // Counts of the current window only: nothing to keep across a NATS restart.
    storage: "memory",
    ttlMs: 60 * MINUTE,
    description: "Each gateway replica's per-key request counts of the current rate-limit window, under the replica's id, published every second; every replica adds the others' to its own.",
  },
} as const satisfies Record<string, KvDef>;

export const STATUS_SNAPSHOT_KEY = "snapshot";
export const REGISTRY_WATCHER_KEY = "watcher";
/**
 * The watcher's key for one tenant. The default tenant keeps the key of the poller before
 * tenants, so its state carries over.
 */
export const registryWatcherKey = (tenant: Tenant) => (tenant === DEFAULT_TENANT ? REGISTRY_WATCHER_KEY : `${REGISTRY_WATCHER_KEY}.${tenant}`);

// ---- Request/reply endpoints ---------------------------------------------------------

export const RPC = {
  databaseHealth: {
    subject: "rpc.scheduler.database_health",
    request: z.object({}),
    response: DatabaseHealthSchema,
    timeoutMs: 2_000,
    description: "The job-scheduler reports its database's health (only it opens the database).",
  },
  createJob: {
    subject: "rpc.scheduler.create_job",
    request: CreateJobRequestSchema,
    response: CreateJobResponseSchema,
    timeoutMs: 10_000,
    description: "Stores a validated upload as a queued job and publishes training.submitted.",
  },
  getJob: {
    subject: "rpc.scheduler.get_job",
    request: JobRefSchema,
    response: JobSchema,
    timeoutMs: 5_000,
    description: "One job with its logs (NOT_FOUND for an unknown id).",
  },
  listJobs: {
    subject: "rpc.scheduler.list_jobs",
    request: ListJobsRequestSchema,
    response: ListJobsResponseSchema,
    timeoutMs: 5_000,
    description: "Jobs newest first, filtered and paginated.",
  },
  cancelJob: {
    subject: "rpc.scheduler.cancel_job",
    request: JobRefSchema,
    response: JobSchema,
    timeoutMs: 5_000,
    description: "Cancels a queued job at once, or asks the runner holding a running job to stop it.",
  },
  getJobScript: {
    subject: "rpc.scheduler.get_job_script",
    request: JobRefSchema,
    response: JobScriptSchema,
    timeoutMs: 5_000,
    description: "The exact script a job ran.",
  },
  getJobLogs: {
    subject: "rpc.scheduler.get_job_logs",
    request: JobLogsRequestSchema,
    response: JobLogsResponseSchema,
    timeoutMs: 5_000,
    description: "A page of a job's stored log lines from an offset.",
  },
  claimJob: {
    subject: "rpc.scheduler.claim_job",
    request: ClaimRequestSchema,
    response: ClaimResponseSchema,
    timeoutMs: 10_000,
    description: "A runner claims a job: a new attempt, the script, or a refusal.",
  },
  reportProgress: {
    subject: "rpc.scheduler.report_progress",
    request: ProgressRequestSchema,
    response: ProgressResponseSchema,
    timeoutMs: 5_000,
    description: "A runner reports an attempt's phase and MLflow run; stale attempts are refused.",
  },
  registerModel: {
    subject: "rpc.registry.register_model",
    request: RegisterModelRequestSchema,
    response: RegisteredVersionSchema,
    // The registry waits for READY (30 s by default) after resolving and creating the version.
    timeoutMs: 60_000,
    description: "Registers the model a run of the tenant logged as a new version of the tenant's model and answers once it is READY.",
  },
  listModels: {
    subject: "rpc.registry.list_models",
    request: ListModelsRequestSchema,
    response: ListModelsResponseSchema,
    timeoutMs: 5_000,
    description: "A page of one tenant's registered models from the registry's cache, ordered by name.",
  },
  getModel: {
    subject: "rpc.registry.get_model",
    request: ModelRefSchema,
    response: ModelInfoSchema,
    timeoutMs: 10_000,
    description: "One registered model of the tenant (NOT_FOUND when its workspace has none by that name).",
  },
  setModelAlias: {
    subject: "rpc.registry.set_alias",
    request: SetModelAliasRequestSchema,
    response: SetModelAliasResponseSchema,
    timeoutMs: 15_000,
    description: "Points an alias at a version (creating or moving it) and publishes model.alias.changed.",
  },
  deleteModelAlias: {
    subject: "rpc.registry.delete_alias",
    request: DeleteModelAliasRequestSchema,
    response: DeleteModelAliasResponseSchema,
    timeoutMs: 15_000,
    description: "Deletes an alias (NOT_FOUND when the model has none by that name) and publishes model.alias.changed.",
  },
  getRun: {
    subject: "rpc.registry.get_run",
    request: GetRunRequestSchema,
    response: GetRunResponseSchema,
    // One runs/get plus one metrics/get-history per metric (at most RUN_HISTORY_MAX_KEYS).
    timeoutMs: 20_000,
    description: "A run of the tenant's workspace: parameters, latest metrics and metric histories (NOT_FOUND when the workspace has no such run).",
  },
  listModelVersions: {
    subject: "rpc.registry.list_model_versions",
    request: ModelRefSchema,
    response: ListModelVersionsResponseSchema,
    timeoutMs: 20_000,
    description: "A tenant's model's versions, newest first, each with its run's parameters and latest metrics.",
  },
  getModelSignature: {
    subject: "rpc.registry.get_model_signature",
    request: GetModelSignatureRequestSchema,
    response: GetModelSignatureResponseSchema,
    timeoutMs: 15_000,
    description: "The input and output schema of a version, read from its MLmodel file as data (the model is never loaded), with its input example's first row.",
  },
  predict: {
    subject: "rpc.inference.predict",
    request: PredictRequestSchema,
    response: PredictResponseSchema,
    // A cold model may be loading; the service answers UNAVAILABLE itself after its load wait (30 s by default).
    timeoutMs: 60_000,
    description: "Predicts with a tenant's model version (latest, a number or an alias) from a warm, micro-batched worker.",
  },
  inferenceHealth: {
    subject: "rpc.inference.health",
    request: z.object({}),
    response: InferenceHealthSchema,
    timeoutMs: 2_000,
    description: "An inference replica says it serves (the status service asks, so the platform's status shows it).",
  },
  invokeModel: {
    subject: "rpc.inference.invoke",
    request: InvokeRequestSchema,
    response: InvokeResponseSchema,
    timeoutMs: 60_000,
    description: "Predicts from one of MLflow's scoring formats (dataframe_split, dataframe_records, instances, inputs).",
  },
  modelServing: {
    subject: "rpc.inference.model_serving",
    request: ModelServingRequestSchema,
    response: ModelServingResponseSchema,
    // Resolving the version reads MLflow once (then cached); nothing is loaded for it.
    timeoutMs: 10_000,
    description: "Which path serves a tenant's model version on the replica that answers (python or onnx) and, when not onnx, why.",
  },
} as const satisfies Record<string, RpcDef>;

/** Queue group shared by the replicas serving each endpoint. */
export const rpcQueueGroup = (def: RpcDef) => `q.${def.subject}`;
