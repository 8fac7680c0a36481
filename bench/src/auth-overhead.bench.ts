import { mkdtemp, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { spawnManaged, startNatsServer } from "@asgard/infra";
import { LOAD_GENERATOR, load, type LoadResult } from "./load.js";
import { freePort, startService, waitFor } from "./platform.js";
import { writeResult } from "./results.js";
import { percentile, round, spread, spreadOf } from "./spread.js";

/**
 * What API keys cost a request: the same two requests — GET /mlops/status and a prediction —
 * against a gateway in local mode (no key) and against one that checks a key, in the same
 * run, one request at a time (concurrency 1), timed with the microsecond load generator.
 * Each side is a platform of its own (nats-server, status service, gateway and a stand-in
 * predictor that answers the inference endpoint at once), because one key in a NATS turns
 * every gateway on it to keys. On a shared machine the noise moves by more than the figure
 * looked for, so the two sides take turns in one-second slices and each run pools its slices;
 * and since two identical platforms already differ by some microseconds, the platforms swap
 * roles between runs: a run's key is made on one of them and revoked after it (with no
 * active key, a loopback gateway is back in local mode).
 */
const RUNS = 5;
const SLICES = 10;
const SLICE_SECONDS = 1;
const WARMUP_SECONDS = 3;
const CONNECTIONS = 1;
/** The difference the issue allows between the two p50s. */
const TARGET_US = 50;

interface Side {
  api: string;
  headers: Record<string, string>;
}

type LoadName = "status" | "predict";

const LOADS: Record<LoadName, { path: string; method: "GET" | "POST"; body?: string }> = {
  status: { path: "/mlops/status", method: "GET" },
  predict: {
    path: "/mlops/inference",
    method: "POST",
    body: JSON.stringify({ model_name: "bench-model", inputs: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, [0.5]])) }),
  },
};

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "asgard-bench-auth-"));
  const stops: Array<() => Promise<void>> = [];
  const loadBefore = os.loadavg();
  try {
    const platforms = [await startSide(join(dir, "a"), stops), await startSide(join(dir, "b"), stops)];

    const slice = async (side: Side, name: LoadName, seconds: number): Promise<LoadResult> => {
      const def = LOADS[name];
      const result = await load({
        url: `${side.api}${def.path}`,
        connections: CONNECTIONS,
        durationSeconds: seconds,
        method: def.method,
        headers: { ...side.headers, ...(def.body ? { "content-type": "application/json" } : {}) },
        ...(def.body ? { body: def.body } : {}),
        keepLatencies: true,
      });
      if (result.errors + result.non2xx > 0) throw new Error(`${name} answered ${result.errors} errors and ${result.non2xx} non-2xx`);
      return result;
    };

    const results: Record<LoadName, { local: Pooled[]; keyed: Pooled[] }> = { status: { local: [], keyed: [] }, predict: { local: [], keyed: [] } };
    for (let i = 0; i < RUNS; i++) {
      const keyedApi = platforms[i % 2]!.api;
      const keys = await makeKeys(keyedApi);
      const sides: Record<"local" | "keyed", Side> = {
        local: { api: platforms[(i + 1) % 2]!.api, headers: {} },
        keyed: { api: keyedApi, headers: { authorization: `Bearer ${keys.key}` } },
      };
      for (const side of Object.values(sides)) {
        for (const name of Object.keys(LOADS) as LoadName[]) await check(side, name);
      }
      for (const name of Object.keys(LOADS) as LoadName[]) {
        for (const side of Object.values(sides)) await slice(side, name, WARMUP_SECONDS);
        const slices: Record<"local" | "keyed", LoadResult[]> = { local: [], keyed: [] };
        // Turns alternate, and so does which side opens the run: a drift of the machine favours neither.
        const order: Array<"local" | "keyed"> = i % 2 === 0 ? ["local", "keyed"] : ["keyed", "local"];
        for (let n = 0; n < SLICES; n++) {
          for (const which of order) slices[which].push(await slice(sides[which], name, SLICE_SECONDS));
        }
        results[name].local.push(pool(slices.local));
        results[name].keyed.push(pool(slices.keyed));
        const l = results[name].local.at(-1)!;
        const k = results[name].keyed.at(-1)!;
        console.log(`auth-overhead run ${i + 1}/${RUNS} ${name}: p50 local ${l.p50_ms} ms, with key ${k.p50_ms} ms (${round((k.p50_ms - l.p50_ms) * 1000, 1)} µs)`);
      }
      await keys.revoke();
    }

    const summary = (name: LoadName) => {
      const { local: l, keyed: k } = results[name];
      const ours = spreadOf(k, (r) => r.p50_ms);
      const baseline = spreadOf(l, (r) => r.p50_ms);
      // Paired by run: the two sides of one run saw the machine in the same state.
      const differenceUs = spread(k.map((r, i) => (r.p50_ms - l[i]!.p50_ms) * 1000), 1);
      return {
        ours_p50_ms: ours,
        baseline_p50_ms: baseline,
        ratio: round(baseline.median / Math.max(ours.median, 0.001), 3),
        p50_difference_us: differenceUs,
        ours_p99_ms: spreadOf(k, (r) => r.p99_ms),
        baseline_p99_ms: spreadOf(l, (r) => r.p99_ms),
        ours_rps: spreadOf(k, (r) => r.rps, 1),
        baseline_rps: spreadOf(l, (r) => r.rps, 1),
        runs: { with_key: k, local_mode: l },
      };
    };
    const by = { status: summary("status"), predict: summary("predict") };
    // The headline is the load where the key costs most (the lower ratio).
    const worst: LoadName = by.status.ratio <= by.predict.ratio ? "status" : "predict";
    const headline = by[worst];
    const loadAfter = os.loadavg();
    const file = await writeResult({
      name: "auth-overhead",
      ours: headline.ours_p50_ms.median,
      baseline: headline.baseline_p50_ms.median,
      ratio: headline.ratio,
      unit: `ms (p50 latency at concurrency 1 with an API key vs local mode; the load where the key costs most: ${worst === "status" ? "GET /mlops/status" : "a prediction"}), median of runs`,
      runs: RUNS,
      ours_spread: headline.ours_p50_ms,
      baseline_spread: headline.baseline_p50_ms,
      load_generator: { ...LOAD_GENERATOR, connections: CONNECTIONS, loop: "closed", slices_per_side_per_run: SLICES, slice_seconds: SLICE_SECONDS, warmup_seconds: WARMUP_SECONDS },
      targets: {
        p50_difference_under_50us: Object.fromEntries((Object.keys(by) as LoadName[]).map((n) => [n, by[n].p50_difference_us.median < TARGET_US])),
      },
      notes:
        `${RUNS} runs; in each, for each load, both sides are warmed up (${WARMUP_SECONDS} s), then take ${SLICES} turns of ${SLICE_SECONDS} s each, alternating (closed loop, one connection, the side that opens alternating between runs); a run's figures pool the latencies of its turns. ` +
        `ours = with a key: a gateway bound to 127.0.0.1 whose NATS holds API keys, requests sent with Authorization: Bearer (a predict-scope key with its own rate of 100,000,000 a minute, so the per-key limiter counts it as it counts a deployment's keys, and never refuses it). ` +
        `baseline = local mode: the same gateway on a NATS without keys, no Authorization header (the limiter counts these requests too, under the local caller). ` +
        `The two platforms swap roles between runs (the run's keys are made on one and revoked after it, which puts its gateway back in local mode), so what tells two identical platforms apart cancels out. ` +
        `Each platform is its own nats-server, status service (MLflow not running: the snapshot says mlflow_available false on both sides) and gateway, and a stand-in predictor answering rpc.inference.predict at once, so the prediction crosses the real HTTP → gateway → NATS → reply path without a model. ` +
        `p50_difference_us is the median over runs of (p50 with key − p50 local mode) of the same run; the headline is the load with the lower ratio. ` +
        `Load average before/after: ${loadBefore.map((l) => l.toFixed(1)).join(" ")} / ${loadAfter.map((l) => l.toFixed(1)).join(" ")} on ${os.cpus().length} cores, shared with other work running on this machine at the same time: a re-run on a quiet machine will move both sides.`,
      status: by.status,
      predict: by.predict,
      headline_load: worst,
    });
    console.log(
      `auth-overhead: p50 difference (median of runs) status ${by.status.p50_difference_us.median} µs, predict ${by.predict.p50_difference_us.median} µs (target < ${TARGET_US}); ` +
        `headline ${worst}: ${headline.ours_p50_ms.median} ms with a key vs ${headline.baseline_p50_ms.median} ms local -> ${file}`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** nats-server, status service, gateway and stand-in predictor in `dir`; answers once /mlops/status has a snapshot. */
/** One run of one side: the latencies of its turns taken together. */
interface Pooled {
  requests: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
}

function pool(slices: LoadResult[]): Pooled {
  const all = slices.flatMap((s) => s.latencies_us ?? []);
  const seconds = slices.reduce((n, s) => n + s.requests / Math.max(s.rps, 1e-9), 0);
  const ms = (p: number) => round(percentile(all, p) / 1000, 3);
  return { requests: all.length, rps: round(all.length / seconds, 1), p50_ms: ms(50), p90_ms: ms(90), p99_ms: ms(99) };
}

async function startSide(dir: string, stops: Array<() => Promise<void>>): Promise<{ api: string }> {
  const nats = await startNatsServer({ storeDir: join(dir, "nats") });
  stops.push(() => nats.stop());
  const port = await freePort();
  const env = {
    NATS_URL: nats.url,
    // Nothing listens there: the status service reports MLflow unavailable, on both sides alike.
    MLFLOW_TRACKING_URI: `http://127.0.0.1:${await freePort()}`,
    PORT: String(port),
    HOST: "127.0.0.1",
    ASGARD_DATA_DIR: dir,
  };
  for (const name of ["status", "gateway"]) {
    const proc = startService(name, env, dir);
    stops.push(() => proc.stop());
  }
  const standIn = spawnManaged({
    name: "stand-in-predictor",
    command: process.execPath,
    args: ["--import", "tsx", join(import.meta.dirname, "stand-in-predictor.ts")],
    env: { ...process.env, NATS_URL: nats.url, SPIN_MS: "0" },
    logFile: join(dir, "stand-in-predictor.log"),
  });
  stops.push(() => standIn.stop());
  const api = `http://127.0.0.1:${port}`;
  await waitFor(`${api}/mlops/status`, (r) => r.ok);
  return { api };
}

/**
 * Puts a platform under keys: its first admin key (from loopback, while none is active), then
 * the key the benchmark sends. `revoke` revokes both, which returns the gateway to local mode.
 */
async function makeKeys(api: string): Promise<{ key: string; revoke(): Promise<void> }> {
  const call = async (method: "POST" | "DELETE", path: string, headers: Record<string, string>, body?: object) => {
    const res = await request(`${api}${path}`, { method, headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path} answered ${res.statusCode}: ${text}`);
    return JSON.parse(text) as { key: string; id: string };
  };
  const admin = await call("POST", "/mlops/keys", {}, { name: "bench-admin", scopes: ["admin"] });
  const asAdmin = { authorization: `Bearer ${admin.key}` };
  const bench = await call("POST", "/mlops/keys", asAdmin, { name: "bench", scopes: ["predict"], rate_limit_per_minute: 100_000_000 });
  return {
    key: bench.key,
    async revoke() {
      await call("DELETE", `/mlops/keys/${bench.id}`, asAdmin);
      await call("DELETE", `/mlops/keys/${admin.id}`, asAdmin);
      await waitFor(`${api}/mlops/status`, (r) => r.ok);
    },
  };
}

/** One request of the load answers 200 on this side, and a keyless one is refused where keys are in force. */
async function check(side: Side, name: LoadName): Promise<void> {
  const def = LOADS[name];
  const send = (headers: Record<string, string>) =>
    request(`${side.api}${def.path}`, { method: def.method, headers: { ...headers, ...(def.body ? { "content-type": "application/json" } : {}) }, ...(def.body ? { body: def.body } : {}) });
  const res = await send(side.headers);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${name} on ${side.api} answered ${res.statusCode}: ${text}`);
  if (side.headers.authorization) {
    const without = await send({});
    await without.body.text();
    if (without.statusCode !== 401) throw new Error(`${name} without a key answered ${without.statusCode} where keys are in force`);
  }
}
