import type { FastifyInstance } from "fastify";
import { expect } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import { buildOpenApiDocument, type CreateKeyResponse } from "@asgard/contracts";
import { createLogger, createMetricsRegistry, type Logger } from "@asgard/telemetry";
import { createGateway, type GatewayDeps } from "../src/app.js";
import { createKeyStore, type KeyStore } from "../src/auth/key-store.js";
import type { StatusCache } from "../src/status-cache.js";

const silent = createLogger("gateway-keyed-test", "silent");
const noStatus: StatusCache = { current: () => null, start: async () => {}, stop: async () => {} };

/** What a client on this machine sends as Host. */
export const LOCAL = { host: "localhost:8000" } as const;

export const bearer = (key: string) => ({ ...LOCAL, authorization: `Bearer ${key}` });

/** A gateway replica that checks API keys, on its own NATS connection, as main.ts builds it. */
export interface KeyedReplica {
  app: FastifyInstance;
  bus: Bus;
  store: KeyStore;
  close(): Promise<void>;
}

export async function keyedReplica(
  natsUrl: string,
  name: string,
  opts: { localMode?: boolean; logger?: Logger } & Pick<GatewayDeps, "limits" | "rateWindows" | "training" | "audit"> = {},
): Promise<KeyedReplica> {
  const logger = opts.logger ?? silent;
  const bus = await connectBus({ servers: natsUrl, name, logger });
  const store = createKeyStore({ bus, logger });
  await store.start();
  const app = await createGateway({
    bus: { current: bus },
    statusCache: noStatus,
    logger,
    metrics: createMetricsRegistry(name),
    openapi: buildOpenApiDocument(),
    statusRetryAfterSeconds: 2,
    bodyLimitBytes: 2 * 1024 * 1024,
    localMode: opts.localMode ?? true,
    keys: { current: store },
    replicaId: name,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.rateWindows ? { rateWindows: opts.rateWindows } : {}),
    ...(opts.training ? { training: opts.training } : {}),
    ...(opts.audit ? { audit: opts.audit } : {}),
  });
  return {
    app,
    bus,
    store,
    async close() {
      await app.close();
      await store.stop();
      await bus.close();
    },
  };
}

/** Creates a key through the API: with `adminKey` null, from loopback in local mode (the first key). */
export async function createKey(app: FastifyInstance, adminKey: string | null, body: object): Promise<CreateKeyResponse> {
  const res = await app.inject({
    method: "POST",
    url: "/mlops/keys",
    headers: { ...(adminKey ? bearer(adminKey) : LOCAL), "content-type": "application/json" },
    payload: JSON.stringify(body),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<CreateKeyResponse>();
}

/** Polls `check` every 50 ms until it holds (at most `tries` times), then asserts it. */
export async function eventually(check: () => Promise<boolean> | boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(await check()).toBe(true);
}
