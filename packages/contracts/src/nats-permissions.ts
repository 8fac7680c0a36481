import type { ConsumerDef, EventDef, KvDef, RpcDef, SignalDef, StreamDef } from "./catalog-types.js";
import { AUDIT_EVENTS, CONSUMERS, EVENTS, KV, RPC, SIGNALS, STREAMS } from "./catalog.js";

/*
 * Who does what on NATS, and the server permissions that follow from it. Every service connects
 * as its own NATS user whose publish/subscribe allow-lists are generated here from the catalog
 * definitions it names, so a subject a service does not declare it uses is one it cannot touch.
 * Each stream and bucket has exactly one owner (the role that `declares` it, or lists it in
 * `buckets`): only the owner may create, update, delete or purge it; the others read its info,
 * their own durables and the values they need. nats-permissions.test.ts fails when a catalog
 * entry has no owner, or two.
 */

/** What one NATS user does, in catalog terms. */
export interface NatsRole {
  readonly description: string;
  /**
   * Streams it owns: declares at start-up (creates them, brings them to the catalog's settings)
   * and alone may update, delete or purge. Every stream has exactly one owner.
   */
  readonly declares: readonly StreamDef[];
  /** Streams it consumes from without owning them: it waits at start-up for the owner to make them (reads their info only). */
  readonly uses: readonly StreamDef[];
  /** Events it publishes to JetStream. */
  readonly publishes: readonly EventDef[];
  /** Durable consumers it creates and pulls from (and acks). */
  readonly consumes: readonly ConsumerDef[];
  /** Durable consumers whose counters it reads, without pulling. */
  readonly inspects: readonly ConsumerDef[];
  /** Events it follows live on core NATS (`Bus.watchEvent`). */
  readonly watches: readonly EventDef[];
  readonly publishesSignals: readonly SignalDef[];
  readonly subscribesSignals: readonly SignalDef[];
  /** Endpoints it answers (and so replies on the callers' inboxes). */
  readonly serves: readonly RpcDef[];
  readonly calls: readonly RpcDef[];
  /** Buckets it owns: opens (creating them when missing), reads, writes, watches, purges. One owner each. */
  readonly buckets: readonly KvDef[];
  /** Buckets it only reads and watches, once their owner has made them. */
  readonly readsBuckets: readonly KvDef[];
}

const none = [] as const;
const role = (r: Partial<NatsRole> & { description: string }): NatsRole => ({
  declares: none,
  uses: none,
  publishes: none,
  consumes: none,
  inspects: none,
  watches: none,
  publishesSignals: none,
  subscribesSignals: none,
  serves: none,
  calls: none,
  buckets: none,
  readsBuckets: none,
  ...r,
});

// The endpoints behind the gateway's HTTP API, each group served by one service: the gateway
// calls every group, so a route added to a group is both served and callable.
/** Jobs (the job scheduler). */
const JOB_API: readonly RpcDef[] = [RPC.createJob, RPC.getJob, RPC.listJobs, RPC.cancelJob, RPC.getJobScript, RPC.getJobLogs];
/** Models, aliases, versions and runs (the registry). */
const REGISTRY_API: readonly RpcDef[] = [
  RPC.registerModel,
  RPC.listModels,
  RPC.getModel,
  RPC.setModelAlias,
  RPC.deleteModelAlias,
  RPC.getRun,
  RPC.listModelVersions,
  RPC.getModelSignature,
];
/** Predictions (inference). */
const PREDICTION_API: readonly RpcDef[] = [RPC.predict, RPC.invokeModel, RPC.modelServing];

/** The platform's services, by NATS user name (the service's name). */
export const SERVICE_ROLES = {
  gateway: role({
    description: "The HTTP API: calls the services' endpoints, publishes audit events, reads status and keys.",
    declares: [STREAMS.audit],
    publishes: Object.values(AUDIT_EVENTS),
    subscribesSignals: [SIGNALS.jobLogStored],
    calls: [...JOB_API, ...REGISTRY_API, ...PREDICTION_API],
    buckets: [KV.apiKeys, KV.rateCounts],
    readsBuckets: [KV.status],
  }),
  "job-scheduler": role({
    description:
      "Owns the job database and the streams of a job's life (queue, logs, outcomes, model events): queues jobs, grants claims, records logs and outcomes.",
    declares: [STREAMS.training, STREAMS.jobLogs, STREAMS.runs, STREAMS.models, STREAMS.deadLetters],
    publishes: [EVENTS.trainingSubmitted, EVENTS.jobLogDeadLetter],
    consumes: [CONSUMERS.schedulerLogs, CONSUMERS.schedulerRuns, CONSUMERS.schedulerRegistrations],
    publishesSignals: [SIGNALS.jobCancel, SIGNALS.jobLogStored],
    subscribesSignals: [SIGNALS.runnerHeartbeat],
    serves: [RPC.databaseHealth, ...JOB_API, RPC.claimJob, RPC.reportProgress],
  }),
  "python-runner": role({
    description: "Runs training jobs: pulls the queue, claims jobs, publishes their logs and outcomes.",
    uses: [STREAMS.training],
    publishes: [EVENTS.jobLog, EVENTS.runCompleted],
    consumes: [CONSUMERS.runners],
    publishesSignals: [SIGNALS.runnerHeartbeat],
    subscribesSignals: [SIGNALS.jobCancel, SIGNALS.jobLogStored],
    calls: [RPC.claimJob, RPC.reportProgress],
  }),
  registry: role({
    description: "The model registry: registers models, moves aliases, announces versions.",
    declares: [STREAMS.registryClaims],
    uses: [STREAMS.runs, STREAMS.models],
    publishes: [EVENTS.modelRegistered, EVENTS.registrationFailed, EVENTS.modelAliasChanged, EVENTS.registrationClaim],
    consumes: [CONSUMERS.registryRuns],
    publishesSignals: [SIGNALS.registryModelChanged],
    subscribesSignals: [SIGNALS.registryModelChanged],
    serves: REGISTRY_API,
    buckets: [KV.registryWatcher],
  }),
  inference: role({
    description: "Serves predictions; follows the registry's events to warm models.",
    uses: [STREAMS.models],
    consumes: [CONSUMERS.inferenceModels],
    publishesSignals: [SIGNALS.inferenceModelChanged],
    subscribesSignals: [SIGNALS.inferenceModelChanged],
    serves: [...PREDICTION_API, RPC.inferenceHealth],
  }),
  status: role({
    description: "Probes the platform and writes the status snapshot.",
    inspects: [CONSUMERS.runners],
    subscribesSignals: [SIGNALS.runnerHeartbeat],
    calls: [RPC.databaseHealth, RPC.listModels, RPC.inferenceHealth],
    buckets: [KV.status],
  }),
} as const satisfies Record<string, NatsRole>;

export type ServiceUser = keyof typeof SERVICE_ROLES;

/**
 * The read-only user for external consumers of the public events. It lives in an account of
 * its own (`READER_ACCOUNT`), into which the platform's account exports the public event
 * subjects and nothing else: it subscribes to them live, publishes nothing, and its account
 * has no JetStream, so it can neither read a stream nor create a consumer (a consumer's
 * delivery subject is not checked against its creator's rights: nats-server#8274).
 */
export const READER_USER = "reader";

/** The account of every service, with JetStream: the streams, consumers and buckets live here. */
export const PLATFORM_ACCOUNT = "PLATFORM";
/** The account of the read-only user: the imported public events, no JetStream. */
export const READER_ACCOUNT = "READER";

/** Every NATS user of a deployment. */
export const NATS_USERS = [...(Object.keys(SERVICE_ROLES) as ServiceUser[]), READER_USER] as const;
export type NatsUser = (typeof NATS_USERS)[number];

/** The account a user connects into. */
export const natsAccountOf = (user: NatsUser): string => (user === READER_USER ? READER_ACCOUNT : PLATFORM_ACCOUNT);

/** The subjects of the public events: what the platform's account exports to the reader's. */
export function publicEventSubjects(): string[] {
  return sorted(Object.values(EVENTS as Record<string, EventDef>).filter((e) => e.public).map((e) => e.subject));
}

/**
 * The one owner of each stream and bucket (by stream name; a bucket is the stream
 * `KV_<bucket>`), from the roles: the service that `declares` the stream or lists the bucket in
 * its `buckets`. Throws when an entry has no owner or more than one.
 */
export function natsStreamOwners(): ReadonlyMap<string, ServiceUser> {
  const claims = new Map<string, ServiceUser[]>();
  const claim = (stream: string, user: ServiceUser) => claims.set(stream, [...(claims.get(stream) ?? []), user]);
  for (const [user, r] of Object.entries(SERVICE_ROLES) as Array<[ServiceUser, NatsRole]>) {
    for (const s of r.declares) claim(s.name, user);
    for (const b of r.buckets) claim(kvStream(b), user);
  }
  const all = [...Object.values(STREAMS as Record<string, StreamDef>).map((s) => s.name), ...Object.values(KV as Record<string, KvDef>).map(kvStream)];
  const owners = new Map<string, ServiceUser>();
  for (const stream of all) {
    const users = claims.get(stream) ?? [];
    const [owner] = users;
    if (owner === undefined || users.length !== 1) throw new Error(`stream ${stream} must have exactly one owner; it has ${users.length === 0 ? "none" : users.join(", ")}`);
    owners.set(stream, owner);
  }
  return owners;
}

/** A user's NATS server permissions (the `permissions` block of its entry in its account's `users`). */
export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  /** True for users that answer requests: they may publish once to each request's reply subject. */
  readonly allowResponses: boolean;
}

/**
 * The reply-inbox prefix of a user's connection. Each user has its own, and may subscribe only
 * below it: replies to others (claim answers carry jobs' environment variables) stay unseen.
 */
export const natsInboxPrefix = (user: string): string => `_INBOX_${user}`;

const API = "$JS.API";
const kvStream = (b: KvDef): string => `KV_${b.bucket}`;
/** Account info: what a JetStream client asks first; reveals nothing of the streams. */
const JS_INFO = `${API}.INFO`;

/** What the owner of a stream alone may do: create, update, delete and purge it (and read its info). */
function streamOwn(stream: string): string[] {
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.CREATE.${stream}`,
    `${API}.STREAM.UPDATE.${stream}`,
    `${API}.STREAM.DELETE.${stream}`,
    `${API}.STREAM.PURGE.${stream}`,
  ];
}

/** Creating/updating a durable (with or without its filter in the subject), pulling and acking it. */
function durableUse(stream: string, durable: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}.${durable}`,
    `${API}.CONSUMER.CREATE.${stream}.${durable}.>`,
    `${API}.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
    `${API}.CONSUMER.INFO.${stream}.${durable}`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.${durable}`,
    `$JS.ACK.${stream}.${durable}.>`,
  ];
}

/** Reading a bucket: its info, single values and the ordered consumers of watches. */
function bucketRead(bucket: KvDef): string[] {
  const stream = kvStream(bucket);
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.>`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.>`,
    `${API}.CONSUMER.DELETE.${stream}.>`,
    // A watch is a push consumer delivering to the user's inbox, with flow control replies.
    `$JS.FC.${stream}.>`,
  ];
}

/** The owner of a bucket: its stream's admin, reads, and writes of its keys. */
function bucketOwn(bucket: KvDef): string[] {
  return [...streamOwn(kvStream(bucket)), ...bucketRead(bucket), `$KV.${bucket.bucket}.>`];
}

const sorted = (subjects: Iterable<string>): string[] => [...new Set(subjects)].sort();

/** The permissions of a service user, generated from what its role names. */
export function servicePermissions(user: ServiceUser): NatsPermissions {
  const r: NatsRole = SERVICE_ROLES[user];
  const publish = [
    JS_INFO,
    ...r.declares.flatMap((s) => streamOwn(s.name)),
    ...r.uses.map((s) => `${API}.STREAM.INFO.${s.name}`),
    ...r.publishes.map((e) => e.subject),
    ...r.consumes.flatMap((c) => durableUse(c.stream.name, c.durable)),
    ...r.inspects.map((c) => `${API}.CONSUMER.INFO.${c.stream.name}.${c.durable}`),
    ...r.publishesSignals.map((s) => s.subject),
    ...r.calls.map((c) => c.subject),
    ...r.buckets.flatMap(bucketOwn),
    ...r.readsBuckets.flatMap(bucketRead),
  ];
  const subscribe = [
    `${natsInboxPrefix(user)}.>`,
    ...r.watches.map((e) => e.subject),
    ...r.subscribesSignals.map((s) => s.subject),
    ...r.serves.map((c) => c.subject),
  ];
  return {
    publish: { allow: sorted(publish), deny: [] },
    subscribe: { allow: sorted(subscribe), deny: [] },
    allowResponses: r.serves.length > 0,
  };
}

/**
 * The read-only user's permissions inside its own account: the imported public events to
 * subscribe to, and nothing to publish. The deny is what forbids: an empty allow-list would
 * allow everything.
 */
export function readerPermissions(): NatsPermissions {
  return {
    publish: { allow: [], deny: [">"] },
    subscribe: { allow: publicEventSubjects(), deny: [] },
    allowResponses: false,
  };
}

/** The permissions of any user of a deployment. */
export function natsPermissions(user: NatsUser): NatsPermissions {
  return user === READER_USER ? readerPermissions() : servicePermissions(user);
}
