import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findNatsServer, freePort, spawnManaged, waitUntilReady, type ManagedProcess } from "@asgard/infra";
import { KV } from "@asgard/contracts";
import { BusError, connectBus, type Bus } from "../src/index.js";
import { memoryLogger, rawConnection, testStream } from "./helpers.js";

/** Three nats-servers with JetStream routed into one cluster, as the Kubernetes StatefulSet runs them. */
async function startCluster(dir: string): Promise<{ urls: string; stop(): Promise<void> }> {
  const nodes = await Promise.all(
    [0, 1, 2].map(async (i) => ({ i, client: await freePort(), cluster: await freePort(), monitor: await freePort() })),
  );
  const routes = nodes.map((n) => `nats://127.0.0.1:${n.cluster}`).join(",");
  const natsServer = await findNatsServer();
  const procs: ManagedProcess[] = nodes.map((n) =>
    spawnManaged({
      name: `nats-${n.i}`,
      command: natsServer,
      args: [
        "-a", "127.0.0.1", "-p", String(n.client), "-m", String(n.monitor),
        "-js", "-sd", join(dir, `node-${n.i}`),
        "--server_name", `node-${n.i}`,
        "--cluster_name", "asgard-test",
        "--cluster", `nats://127.0.0.1:${n.cluster}`,
        "--routes", routes,
      ],
    }),
  );
  await Promise.all(
    nodes.map((n, k) =>
      waitUntilReady(procs[k], `clustered nats-server ${n.i}`, async () => (await fetch(`http://127.0.0.1:${n.monitor}/healthz?js-enabled-only=true`)).ok, 30_000, 100),
    ),
  );
  return {
    urls: nodes.map((n) => `nats://127.0.0.1:${n.client}`).join(","),
    stop: async () => {
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
}

/** Retries while the new cluster elects its JetStream meta leader (bounded by count). */
async function once<T>(work: () => Promise<T>, tries = 100): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe("stream replicas", () => {
  it("refuses a replica count JetStream would refuse, before connecting", async () => {
    for (const streamReplicas of [0, 6, 1.5]) {
      const err = await connectBus({ servers: "nats://127.0.0.1:1", name: "bad-replicas", streamReplicas }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BusError);
      expect(err).toMatchObject({ code: "INTERNAL" });
      expect((err as Error).message).toMatch(/streamReplicas/);
    }
  });

  describe("on a 3-node NATS cluster", () => {
    let dir: string;
    let cluster: { urls: string; stop(): Promise<void> };
    let raw: NatsConnection;
    let jsm: JetStreamManager;
    const buses: Bus[] = [];

    const open = async (streamReplicas?: number) => {
      const logger = memoryLogger();
      const bus = await connectBus({ servers: cluster.urls, name: "replicas-test", logger, connectTimeoutMs: 10_000, streamReplicas });
      buses.push(bus);
      return { bus, logger };
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "asgard-nats-cluster-"));
      cluster = await startCluster(dir);
      raw = await rawConnection(cluster.urls);
      // Ready once the cluster has elected its JetStream meta leader and answers account info.
      jsm = await once(() => jetstreamManager(raw, { timeout: 2_000 }));
    });

    afterAll(async () => {
      for (const bus of buses) await bus.close();
      await raw?.close();
      await cluster?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("declares a stream with the configured replicas, and declaring it again changes nothing", async () => {
      const { bus, logger } = await open(3);
      const def = testStream({ storage: "file" });
      await once(() => bus.ensureStream(def));
      const info = await jsm.streams.info(def.name);
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas ?? []).toHaveLength(2);

      await bus.ensureStream(def);
      const { bus: again, logger: againLogger } = await open(3);
      await again.ensureStream(def);
      expect([...logger.messages(), ...againLogger.messages()].filter((m) => m === "updated stream")).toEqual([]);
      expect((await jsm.streams.info(def.name)).config.num_replicas).toBe(3);
    }, 60_000);

    it("creates KV buckets with the configured replicas and raises a bucket made with one", async () => {
      const def = { ...KV.status, bucket: `replicas_${Date.now()}` };
      const { bus: before } = await open();
      await once(() => before.kv(def));
      expect((await jsm.streams.info(`KV_${def.bucket}`)).config.num_replicas).toBe(1);

      const { bus: after, logger } = await open(3);
      const bucket = await after.kv(def);
      expect(logger.entries.find((e) => e.msg === "raised bucket replicas")?.obj).toMatchObject({ bucket: def.bucket, from: 1, to: 3 });
      expect((await jsm.streams.info(`KV_${def.bucket}`)).config.num_replicas).toBe(3);
      expect(await bucket.get("absent")).toBeNull();

      const fresh = { ...KV.status, bucket: `replicas_fresh_${Date.now()}` };
      await after.kv(fresh);
      expect((await jsm.streams.info(`KV_${fresh.bucket}`)).config.num_replicas).toBe(3);
      // Opening again changes nothing.
      const { bus: again, logger: againLogger } = await open(3);
      await again.kv(fresh);
      expect(againLogger.messages().filter((m) => m === "raised bucket replicas")).toEqual([]);
    }, 60_000);

    it("raises the replicas of a stream an earlier version declared with one", async () => {
      const { bus: before } = await open();
      const def = testStream({ storage: "file" });
      await once(() => before.ensureStream(def));
      expect((await jsm.streams.info(def.name)).config.num_replicas).toBe(1);

      const { bus: after, logger } = await open(3);
      await after.ensureStream(def);
      expect(logger.entries.find((e) => e.msg === "updated stream")?.obj).toMatchObject({ changed: ["num_replicas"] });
      expect((await jsm.streams.info(def.name)).config.num_replicas).toBe(3);
    }, 60_000);
  });
});
