import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { connectBus } from "@asgard/bus";
import { RPC, buildOpenApiDocument } from "@asgard/contracts";
import { ensureUv, startNatsServer } from "@asgard/infra";
import { createMlflowClient } from "@asgard/mlflow";
import { createPyEnvManager } from "@asgard/pyenv";
import { createLogger, createMetricsRegistry } from "@asgard/telemetry";
import { createGateway } from "@asgard/gateway";

import { createInference } from "../src/index.ts";
const logger = createLogger("x", "warn");
const dir = await mkdtemp("/tmp/infx/layers-");
const nats = await startNatsServer({ storeDir: join(dir, "nats") });
const mlflow = createMlflowClient({ baseUrl: "http://127.0.0.1:5055" });
const pyenv = createPyEnvManager({ root: "/tmp/infx/envs", uvPath: await ensureUv(), python: "python3", pins: ["mlflow==3.17.2"] });
const sbus = await connectBus({ servers: nats.url, name: "svc", logger });
const inf = createInference({ bus: sbus, mlflow, pyenv, logger, config: { dataDir: join(dir, "data"), loadWaitMs: 600000 } });
await inf.start();
const gbus = await connectBus({ servers: nats.url, name: "gw", logger });
const app = await createGateway({ bus: { current: gbus }, statusCache: { current: () => null, start: async () => {}, stop: async () => {} }, logger, metrics: createMetricsRegistry("g"), openapi: buildOpenApiDocument(), statusRetryAfterSeconds: 2, bodyLimitBytes: 1 << 21 });
await app.listen({ port: 0, host: "127.0.0.1" });
const port = (app.server.address() as any).port;
const row = [-3.8953324395750064, 0.2931147323684131, -0.3282368281854493, 0.10728961147716438, 3.2152718234315896, 0.17700909645281596, -1.7947992361524667, 2.054374908247138, -0.5405386181897762, 0.7671335117815439, 3.2175957098973407, -1.3456940229304084, -0.8955488977733097, 1.952820552641594, -1.5745069308234445, -0.22188031917893136, 0.5959422896474146, -1.4110554229623629, 0.7473950798402349, 1.048652132023994];
const inputs = Object.fromEntries(row.map((v, i) => [`f${i}`, [v]]));
const req = { model_name: "rf100", model_ref: { kind: "version" as const, version: "1" }, inputs, return_probabilities: false };
const cbus = await connectBus({ servers: nats.url, name: "client", logger });
await cbus.request(RPC.predict, req, { timeoutMs: 600000 });
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!.toFixed(3);
for (let round = 0; round < 2; round++) {
  let lat: number[] = [], over: number[] = [];
  for (let i = 0; i < 500; i++) { const t = performance.now(); const r = await cbus.request(RPC.predict, req); const ms = performance.now() - t; lat.push(ms); over.push(ms - r.inference_time_ms); }
  console.log("bus: p50", med(lat), "overhead p50", med(over));
  lat = []; over = [];
  const body = JSON.stringify({ model_name: "rf100", model_version: "1", inputs });
  for (let i = 0; i < 500; i++) { const t = performance.now(); const res = await fetch(`http://127.0.0.1:${port}/mlops/inference`, { method: "POST", body, headers: { "content-type": "application/json" } }); const j = await res.json() as any; const ms = performance.now() - t; lat.push(ms); over.push(ms - j.inference_time_ms); }
  console.log("http: p50", med(lat), "overhead p50", med(over));
}
await app.close(); await gbus.close(); await cbus.close(); await inf.stop(); await sbus.close(); await nats.stop(); await mlflow.close();
