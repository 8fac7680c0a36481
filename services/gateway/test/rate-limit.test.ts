import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KV, type CreateKeyResponse } from "@asgard/contracts";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { RateWindows } from "../src/limits/rate-windows.js";
import { bearer, createKey, eventually, keyedReplica, LOCAL, type KeyedReplica } from "./keyed-gateway.js";

/** A route that answers 200 to any key without any service behind the gateway. */
const CHEAP = "/openapi.json";

describe("per-key request rate (real NATS, gateway replicas sharing their counts)", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  /** One-second windows: a burst is limited, and the next second lets the key in again. */
  let quick: KeyedReplica;
  /** Hour-long windows on two replicas, with their counts in view: sharing without a rollover in between. */
  const HOUR = 3_600;
  const windowsA = new RateWindows(HOUR * 1000);
  const windowsB = new RateWindows(HOUR * 1000);
  let a: KeyedReplica;
  let b: KeyedReplica;
  let admin: CreateKeyResponse;

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "gateway-rate-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    quick = await keyedReplica(nats.url, "rate-quick", { limits: { rateWindowSeconds: 1 } });
    a = await keyedReplica(nats.url, "rate-a", { limits: { rateWindowSeconds: HOUR }, rateWindows: windowsA });
    b = await keyedReplica(nats.url, "rate-b", { limits: { rateWindowSeconds: HOUR }, rateWindows: windowsB });
    admin = await createKey(quick.app, null, { name: "admin", scopes: ["admin"], limits_exempt: true });
  });

  afterAll(async () => {
    for (const r of [quick, a, b]) await r?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers a burst over a key's rate with 429s that name the limit and say when to retry, while other keys and /healthz go on; the next window lets the key in again", async () => {
    // 300 a minute is 5 in each one-second window.
    const limited = await createKey(quick.app, admin.key, { name: "burst", scopes: ["predict"], rate_limit_per_minute: 300 });
    const other = await createKey(quick.app, admin.key, { name: "calm", scopes: ["predict"] });
    let refused: Awaited<ReturnType<typeof quick.app.inject>> | null = null;
    let admitted = 0;
    for (let i = 0; i < 1_000 && refused === null; i++) {
      const res = await quick.app.inject({ url: CHEAP, headers: bearer(limited.key) });
      if (res.statusCode === 429) refused = res;
      else {
        expect(res.statusCode).toBe(200);
        admitted++;
      }
    }
    expect(refused, "no 429 in 1,000 requests").not.toBeNull();
    expect(admitted).toBeGreaterThanOrEqual(5);
    expect(Number(refused!.headers["retry-after"])).toBe(1);
    expect(refused!.json()).toMatchObject({
      error: "LIMIT_EXCEEDED",
      retry_after_seconds: 1,
      message: expect.stringContaining(`per-key request rate): the API key ${limited.id} may make 300 requests per minute`),
    });
    expect(refused!.json().message).toContain("retry after 1 s");

    expect((await quick.app.inject({ url: CHEAP, headers: bearer(other.key) })).statusCode).toBe(200);
    for (let i = 0; i < 50; i++) {
      expect((await quick.app.inject({ url: "/healthz", headers: LOCAL })).statusCode).toBe(200);
      expect((await quick.app.inject({ url: "/readyz", headers: LOCAL })).statusCode).not.toBe(429);
    }
    await eventually(async () => (await quick.app.inject({ url: CHEAP, headers: bearer(limited.key) })).statusCode === 200);
    const metrics = await quick.app.inject({ url: "/metrics", headers: bearer(admin.key) });
    expect(metrics.body).toMatch(/asgard_gateway_limit_refusals_total\{limit="request_rate"[^}]*\} [1-9]/);
  });

  it("never counts a key created exempt", async () => {
    const exempt = await createKey(quick.app, admin.key, { name: "bench", scopes: ["predict"], rate_limit_per_minute: 60, limits_exempt: true });
    for (let i = 0; i < 100; i++) expect((await quick.app.inject({ url: CHEAP, headers: bearer(exempt.key) })).statusCode).toBe(200);
  });

  it("adds the counts of the other replica: each refuses once both together reached the key's rate", async () => {
    // An hour-long window must not roll over between the two halves of the test.
    const intoWindow = Date.now() % (HOUR * 1000);
    if (intoWindow > HOUR * 1000 - 60_000) await sleep(HOUR * 1000 - intoWindow + 10);
    // 1 a minute is 60 in an hour-long window.
    const key = await createKey(quick.app, admin.key, { name: "shared", scopes: ["predict"], rate_limit_per_minute: 1 });
    await eventually(() => a.store.get(key.id) !== undefined && b.store.get(key.id) !== undefined);
    for (let i = 0; i < 30; i++) {
      expect((await a.app.inject({ url: CHEAP, headers: bearer(key.key) })).statusCode).toBe(200);
      expect((await b.app.inject({ url: CHEAP, headers: bearer(key.key) })).statusCode).toBe(200);
    }
    // Each replica counted 30 itself; within about a second each has the other's 30 too.
    expect(windowsA.count(key.id, Date.now())).toBeGreaterThanOrEqual(30);
    await eventually(() => windowsA.count(key.id, Date.now()) === 60 && windowsB.count(key.id, Date.now()) === 60);
    for (const r of [a, b]) {
      const res = await r.app.inject({ url: CHEAP, headers: bearer(key.key) });
      expect(res.statusCode).toBe(429);
      expect(res.json().message).toContain("counted across every gateway replica");
      expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    }
    // What the replicas published is in the bucket, under their names, as counts only.
    const published = await (await a.bus.kv(KV.rateCounts)).get("rate-a");
    expect(published).toMatchObject({ replica: "rate-a", window_ms: HOUR * 1000 });
    expect(published!.counts[key.id]).toBeGreaterThanOrEqual(30);
    expect(JSON.stringify(published)).not.toContain(key.key);
  });
});
