import { randomUUID } from "node:crypto";
import { mkdtemp, stat } from "node:fs/promises";
import { join } from "node:path";
import { CONSUMERS, EVENTS, KV, natsInboxPrefix, READER_USER, RPC, SIGNALS, STREAMS, type NatsUser, type Payload } from "@asgard/contracts";
import { localNatsAuth, startNatsServer, type NatsServer } from "@asgard/infra";
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { BusError, connectBus, type Bus } from "../src/index.js";
import { memoryLogger, signal } from "./helpers.js";

/** A server that admits only the generated users, as `npm start`, the e2e platform and deploy/ run it. */
describe("NATS users and their permissions", () => {
  let nats: NatsServer;
  const buses: Bus[] = [];
  const raws: NatsConnection[] = [];
  /** The JetStream API as the user, without the bus: to send exactly the call under test. */
  const rawJsm = async (user: NatsUser): Promise<JetStreamManager> => {
    const nc = await connect({ servers: nats.url, user, pass: nats.auth!.passwords[user], inboxPrefix: natsInboxPrefix(user) });
    raws.push(nc);
    return jetstreamManager(nc, { checkAPI: false, timeout: 5_000 });
  };
  const as = async (user: NatsUser, name: string = user): Promise<Bus> => {
    const bus = await connectBus({
      servers: nats.url,
      name,
      user,
      pass: nats.auth!.passwords[user],
      logger: memoryLogger(),
      connectTimeoutMs: 10_000,
    });
    buses.push(bus);
    return bus;
  };
  const registered = (): Payload<typeof EVENTS.modelRegistered> => ({
    event_id: randomUUID(),
    schema_version: 1,
    occurred_at: new Date().toISOString(),
    tenant: "default",
    model_name: "m",
    version: "1",
    run_id: null,
    job_id: null,
    source: "models:/m/1",
    aliases: [],
    signature: null,
    registered_at: new Date().toISOString(),
  });

  beforeAll(async () => {
    const dir = await mkdtemp(join(inject("infra").workDir, "nats-users-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats"), auth: await localNatsAuth(dir) });
  });
  afterAll(async () => {
    for (const bus of buses) await bus.close();
    for (const nc of raws) await nc.close();
    await nats?.stop();
  });

  it("keeps the passwords and the server config readable by their owner only", async () => {
    const dir = join(nats.auth!.file, "..");
    for (const file of [nats.auth!.file, join(dir, "nats-server.conf")]) expect((await stat(file)).mode & 0o777, file).toBe(0o600);
  });

  it("refuses a client without credentials, and one with a wrong password, at once", async () => {
    for (const creds of [{}, { user: "gateway", pass: "not-the-password" }]) {
      const err = await connectBus({ servers: nats.url, name: "stranger", logger: memoryLogger(), ...creds }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BusError);
      expect((err as BusError).message).toMatch(/refused/);
      expect((err as BusError).message).not.toContain("not-the-password");
    }
  });

  it("lets the registry publish model.registered, and not the runner", async () => {
    await (await as("job-scheduler")).ensureStream(STREAMS.models);
    const registry = await as("registry");
    await registry.awaitStream(STREAMS.models);
    await expect(registry.publish(EVENTS.modelRegistered, registered())).resolves.toMatchObject({ stream: "MODELS" });
    const runner = await as("python-runner");
    await expect(runner.publish(EVENTS.modelRegistered, registered())).rejects.toBeInstanceOf(BusError);
  });

  it("keeps the runner from the JetStream admin API and from the scheduler's job endpoints", async () => {
    const scheduler = await as("job-scheduler");
    await scheduler.ensureStream(STREAMS.runs);
    const runner = await as("python-runner");
    await expect(runner.deleteStream(STREAMS.runs.name)).rejects.toBeInstanceOf(BusError);
    await expect(runner.ensureStream(STREAMS.runs)).rejects.toBeInstanceOf(BusError);
    // The stream is still there: the scheduler (which declares it) sees it unchanged.
    await expect(scheduler.ensureStream(STREAMS.runs)).resolves.toBeUndefined();
    // Refused by the server at once, and said so, rather than left to its timeout.
    const refused = await runner
      .request(RPC.listJobs, { scope: { tenant: "default", admin: true }, limit: 1 } as never, { timeoutMs: 60_000 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BusError);
    expect((refused as Error).message).toContain("this service may not send it");
    expect((refused as Error).message).toMatch(/permissions violation for publish/i);
  });

  it("lets only a stream's owner update, purge or delete it; its users get a permission error", async () => {
    const owner = await rawJsm("job-scheduler");
    const scheduler = await as("job-scheduler");
    for (const stream of [STREAMS.runs, STREAMS.models, STREAMS.training]) await scheduler.ensureStream(stream);
    const users: Array<[NatsUser, string]> = [
      ["registry", STREAMS.runs.name],
      ["registry", STREAMS.models.name],
      ["inference", STREAMS.models.name],
      ["python-runner", STREAMS.training.name],
    ];
    for (const [user, stream] of users) {
      const jsm = await rawJsm(user);
      const { config } = await jsm.streams.info(stream);
      // A max_msgs of 1 would empty the stream; the request never reaches JetStream.
      await expect(jsm.streams.update(stream, { ...config, max_msgs: 1 }), `${user} updates ${stream}`).rejects.toThrow(/permission/i);
      await expect(jsm.streams.purge(stream), `${user} purges ${stream}`).rejects.toThrow(/permission/i);
      await expect(jsm.streams.delete(stream), `${user} deletes ${stream}`).rejects.toThrow(/permission/i);
    }
    // The owner can, on a stream of its own.
    const dead = STREAMS.deadLetters;
    await scheduler.ensureStream(dead);
    const { config } = await owner.streams.info(dead.name);
    await expect(owner.streams.update(dead.name, { ...config, max_msgs: 1_000 })).resolves.toMatchObject({ config: { max_msgs: 1_000 } });
    await expect(owner.streams.purge(dead.name)).resolves.toMatchObject({ success: true });
    await expect(owner.streams.delete(dead.name)).resolves.toBe(true);
    await scheduler.ensureStream(dead);
  });

  it("lets only a bucket's owner write or purge it; a service that reads it binds to it", async () => {
    await (await as("status")).kv(KV.status);
    const stream = `KV_${KV.status.bucket}`;
    const key = `$KV.${KV.status.bucket}.probe`;
    const write = async (user: NatsUser) => {
      const nc = await connect({ servers: nats.url, user, pass: nats.auth!.passwords[user], inboxPrefix: natsInboxPrefix(user) });
      raws.push(nc);
      return jetstream(nc, { timeout: 5_000 }).publish(key, "{}");
    };
    await expect(write("status")).resolves.toMatchObject({ stream });
    await expect(write("gateway")).rejects.toThrow(/permission/i);
    await expect((await rawJsm("gateway")).streams.purge(stream)).rejects.toThrow(/permission/i);
    await expect((await rawJsm("status")).streams.purge(stream)).resolves.toMatchObject({ success: true });
    const gateway = await as("gateway");
    await expect((await gateway.kv(KV.status, { create: false })).get("probe")).resolves.toBeNull();
  });

  it("gives the read-only user the public events live, in an account of its own with nothing to publish and no JetStream", async () => {
    const scheduler = await as("job-scheduler");
    await scheduler.ensureStream(STREAMS.models);
    const registry = await as("registry");
    const reader = await as(READER_USER, "external-reader");
    const event = registered();
    const got = signal<string>();
    const watching = reader.watchEvent(EVENTS.modelRegistered, (e) => {
      if (e.event_id === event.event_id) got.resolve(e.event_id);
    });
    await reader.rtt();
    await registry.publish(EVENTS.modelRegistered, event, { msgId: event.event_id });
    await expect(got.promise).resolves.toBe(event.event_id);
    await watching.stop();

    // Nothing to publish: not a platform event, not a signal, not the JetStream API.
    await expect(reader.publish(EVENTS.modelRegistered, registered())).rejects.toBeInstanceOf(BusError);
    const jsm = await rawJsm(READER_USER);
    await expect(jsm.getAccountInfo()).rejects.toThrow(/permission/i);
    await expect(jsm.streams.info(STREAMS.models.name)).rejects.toThrow(/permission/i);
    await expect(jsm.streams.delete(STREAMS.models.name)).rejects.toThrow(/permission/i);
    // No consumer, so no deliveries replayed onto a platform subject (nats-server#8274).
    await expect(
      jsm.consumers.add(STREAMS.models.name, { durable_name: `x${randomUUID().slice(0, 8)}`, ack_policy: AckPolicy.None, deliver_subject: EVENTS.runCompleted.subject }),
    ).rejects.toThrow(/permission/i);
    await expect(reader.ensureConsumer({ ...CONSUMERS.inferenceModels, durable: `r${randomUUID().slice(0, 8)}` })).rejects.toBeInstanceOf(BusError);

    // A signal the reader sends never reaches the platform: the registry sees only its own.
    const changed = signal<string>();
    const sub = registry.subscribeSignal(SIGNALS.registryModelChanged, (p) => changed.resolve(p.origin));
    await registry.rtt();
    reader.publishSignal(SIGNALS.registryModelChanged, { origin: "reader", tenant: "default", model_name: "m" } as never);
    await reader.rtt();
    registry.publishSignal(SIGNALS.registryModelChanged, { origin: "registry", tenant: "default", model_name: "m" } as never);
    await expect(changed.promise).resolves.toBe("registry");
    await sub.stop();
  });
});
