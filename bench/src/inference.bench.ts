import { mkdtemp, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { connectBus } from "@asgard/bus";
import { STREAMS } from "@asgard/contracts";
import { spawnManaged, type ManagedProcess } from "@asgard/infra";
import { ensureUv, pythonExecutable, } from "@asgard/tools";
import { createMlflowClient, } from "@asgard/mlflow";
import { createPyEnvManager, } from "@asgard/pyenv";
import { FROM_SOURCES } from "@asgard/test-support";
import { compiledPath, cpuTimes, FEATURES, modelEnvironment, post, requestBodies, startModelsServe, train, workerPid } from "./inference-model.js";
import { LOAD_GENERATOR, load, type LoadResult } from "./load.js";
import { freePort, startNatsAndMlflow, startService, waitFor } from "./platform.js";
import { writeResult } from "./results.js";
import { percentile, repeat, round, spread, spreadOf } from "./spread.js";

/**
 * POST /mlops/inference (gateway → NATS → inference service → one worker of ours: ONNX Runtime
 * once the model is compiled after its first prediction, else Python)
 * against `mlflow models serve --env-manager local -w 1` on the same registered model
 * (a scikit-learn RandomForest, 100 trees, 20 features), on the same machine, driven by the
 * same load: single-row requests at concurrency 1, 16 and 64, three runs of each.
 */
const CONCURRENCY = [1, 16, 64] as const;
const RUNS = 3;
const SECONDS = 10;
const WARMUP_SECONDS = 3;
/** Sequential requests timed one by one, alternating between the two servers. */
const SEQUENTIAL = 1_000;

interface Sequential {
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  mean_ms: number;
  /** Median time inside predict per request, as the worker measured it (ours only). */
  in_predict_p50_ms: number | null;
  /** Median of (latency − in-predict time) per request (ours only). */
  overhead_p50_ms: number | null;
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "asgard-bench-inference-"));
  const stops: Array<() => Promise<void>> = [];
  const loadBefore = os.loadavg();
  try {
    const { nats, mlflow: mlflowServer } = await startNatsAndMlflow(dir, stops);
    const mlflow = createMlflowClient({ baseUrl: mlflowServer.url, timeoutMs: 60_000 });
    stops.push(() => mlflow.close());
    const mlflowVersion = await mlflow.version();
    const envRoot = join(dir, "envs");
    const pyenv = createPyEnvManager({ root: envRoot, uvPath: await ensureUv(), python: pythonExecutable(), pins: [`mlflow==${mlflowVersion}`] });

    console.log("inference: training the model (RandomForest, 100 trees, 20 features)…");
    const trained = await train(pyenv, mlflowServer.url, dir);
    const modelName = "bench-random-forest";
    await mlflow.createRegisteredModel(modelName);
    const mv = await mlflow.createModelVersion({ name: modelName, source: trained.uri, runId: trained.run_id, modelId: trained.model_id });
    await mlflow.waitForModelVersionReady(modelName, mv.version);

    // The scheduler owns the MODELS stream and the inference service waits for it; the bench
    // runs no scheduler, so it declares the stream as the scheduler would.
    const owner = await connectBus({ servers: nats.url, name: "bench-stream-owner" });
    await owner.ensureStream(STREAMS.models);
    await owner.close();

    // Ours: gateway + inference service (one model, so one Python worker), each its own process.
    const port = await freePort();
    const metricsPort = await freePort();
    const env = {
      NATS_URL: nats.url,
      MLFLOW_TRACKING_URI: mlflowServer.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      ASGARD_DATA_DIR: dir,
      ENV_CACHE_DIR: envRoot,
      METRICS_PORT: String(metricsPort),
      INFERENCE_LOAD_WAIT_MS: "600000",
    };
    const pids: Record<string, number> = { nats: nats.process.pid, "load generator": process.pid };
    const procs: Record<string, ManagedProcess> = {};
    for (const name of ["inference", "gateway"]) {
      const proc = startService(name, env, dir);
      procs[name] = proc;
      pids[name] = proc.pid;
      stops.push(() => proc.stop());
    }
    const bodies = requestBodies(modelName, mv.version, trained.row);
    const oursUrl = `http://127.0.0.1:${port}/mlops/inference`;
    const oursBody = bodies.ours;
    console.log("inference: loading the model into our worker (builds its environment from its requirements)…");
    await waitFor(oursUrl, async () => (await post(oursUrl, oursBody)).status === 200, 6_000);
    // The first prediction came from Python; the service compiles the model to ONNX after it
    // (INFERENCE_COMPILE=onnx, its default). Measured once it serves from ONNX Runtime, or from
    // Python if compiling failed (the inference log says why; `served_by` records which).
    console.log("inference: waiting for the compiled (ONNX) path, up to 10 minutes (its converter environment may be built cold)…");
    const servedBy = await compiledPath(oursUrl, oursBody, 600);
    console.log(`inference: our answers are served by ${servedBy}`);

    // Baseline: MLflow's scoring server, started from the very environment our worker runs in.
    const lease = await modelEnvironment(pyenv, mlflow, trained.model_id);
    stops.push(() => lease.release());
    console.log("inference: starting the baseline: mlflow models serve");
    const baseline = await startModelsServe({ lease, trackingUri: mlflowServer.url, modelUri: `models:/${modelName}/${mv.version}`, body: bodies.mlflow, dir });
    stops.push(() => baseline.process.stop());
    const baselineCommand = baseline.command;
    const baselineUrl = baseline.url;
    const baselineBody = bodies.mlflow;

    // Same prediction from both, or the comparison means nothing.
    const ourAnswer = JSON.parse((await post(oursUrl, oursBody)).text) as { predictions: unknown[] };
    const theirAnswer = JSON.parse((await post(baselineUrl, baselineBody)).text) as { predictions: unknown[] };
    if (JSON.stringify(ourAnswer.predictions) !== JSON.stringify(theirAnswer.predictions)) {
      throw new Error(`the two servers disagree: ours ${JSON.stringify(ourAnswer.predictions)}, mlflow ${JSON.stringify(theirAnswer.predictions)}`);
    }

    const headers = { "content-type": "application/json" };
    const measure = async (url: string, body: string, connections: number): Promise<LoadResult> => {
      await load({ url, connections, durationSeconds: WARMUP_SECONDS, method: "POST", body, headers });
      return load({ url, connections, durationSeconds: SECONDS, method: "POST", body, headers });
    };

    // Interleaved per concurrency, so both servers see the machine in the same state; the
    // whole sweep is repeated RUNS times.
    const ours: Record<string, LoadResult[]> = {};
    const theirs: Record<string, LoadResult[]> = {};
    const batching: Record<string, ReturnType<typeof batchingBetween>> = {};
    pids["python worker"] = await workerPid(pids.inference as number);
    let cpuAtC64: Record<string, { ms_per_s: number; us_per_request: number }> = {};
    for (let run = 0; run < RUNS; run++) {
      for (const c of CONCURRENCY) {
        const key = `c${c}`;
        const before = await scrape(metricsPort);
        const cpuBefore = await cpuTimes(pids);
        const mine = await measure(oursUrl, oursBody, c);
        (ours[key] ??= []).push(mine);
        if (c === 64) cpuAtC64 = cpuShares(cpuBefore, await cpuTimes(pids), mine.requests, SECONDS + WARMUP_SECONDS);
        batching[key] = batchingBetween(before, await scrape(metricsPort));
        console.log(`inference run ${run + 1}/${RUNS}: ours     c=${c}: ${line(mine)}; ${JSON.stringify(batching[key])}`);
        const other = await measure(baselineUrl, baselineBody, c);
        (theirs[key] ??= []).push(other);
        console.log(`inference run ${run + 1}/${RUNS}: baseline c=${c}: ${line(other)}`);
      }
    }
    // Our /invocations route, with the baseline's very body, at the highest concurrency.
    const oursInvocationsUrl = `http://127.0.0.1:${port}/mlops/models/${modelName}/versions/${mv.version}/invocations`;
    const oursInvocations = await repeat(RUNS, () => measure(oursInvocationsUrl, baselineBody, 64));
    console.log(`inference: ours /invocations c=64: ${line(oursInvocations.at(-1)!)}`);

    // Our processes' CPU over each sequential run (the baseline's rounds leave them idle), per request of ours.
    const ourPids = Object.fromEntries(Object.entries(pids).filter(([name]) => name !== "load generator"));
    const sequentialRuns = await repeat(RUNS, async () => {
      const cpuBefore = await cpuTimes(ourPids);
      const pair = await sequentialPair(oursUrl, oursBody, baselineUrl, baselineBody, () => scrape(metricsPort));
      return { ...pair, cpu_us_per_request: perRequestUs(cpuBefore, await cpuTimes(ourPids), SEQUENTIAL + 100) };
    });
    const oursSequential = sequentialRuns.map((r) => r.ours);
    const theirSequential = sequentialRuns.map((r) => r.baseline);
    const stages = sequentialRuns.at(-1)!.stages;
    const inPredict = spreadOf(oursSequential, (r) => r.in_predict_p50_ms ?? 0);
    // Last: the inference service is stopped for good so the stand-in can take its endpoint.
    await (procs.inference as ManagedProcess).stop();
    const floors = await repeat(RUNS, () => transportFloor(oursUrl, oursBody, { natsUrl: nats.url, spinMs: inPredict.median, dir, pids: { gateway: pids.gateway as number, nats: pids.nats as number } }));
    const floor = floors.at(-1)!;
    console.log(`inference: the same requests answered by a stand-in that only spins for ${floor.spin_ms} ms: overhead p50 ${floor.overhead_p50_ms} ms (HTTP, gateway, NATS, no model work)`);
    const hop = await loopbackRoundTrip();
    console.log(`inference: one TCP round trip between two processes on this machine: ${hop.busy_ms} ms back to back, ${hop.after_idle_ms} ms after 5 ms idle`);

    const rps = (runs: LoadResult[] | undefined) => spreadOf(runs ?? [], (r) => r.rps, 1);
    const p99 = (runs: LoadResult[] | undefined) => spreadOf(runs ?? [], (r) => r.p99_ms);
    // The headline is the concurrency where ours compares worst (lowest throughput ratio).
    const ratios = CONCURRENCY.map((c) => ({ c, ratio: rps(ours[`c${c}`]).median / Math.max(rps(theirs[`c${c}`]).median, 0.01) }));
    const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
    const headlineOurs = rps(ours[`c${worst.c}`]);
    const headlineTheirs = rps(theirs[`c${worst.c}`]);
    const ratio = round(headlineOurs.median / Math.max(headlineTheirs.median, 0.01));
    const seqOurs = { p50_ms: spreadOf(oursSequential, (r) => r.p50_ms), p99_ms: spreadOf(oursSequential, (r) => r.p99_ms), in_predict_p50_ms: inPredict, overhead_p50_ms: spreadOf(oursSequential, (r) => r.overhead_p50_ms ?? 0) };
    const seqTheirs = { p50_ms: spreadOf(theirSequential, (r) => r.p50_ms), p99_ms: spreadOf(theirSequential, (r) => r.p99_ms) };
    const o64 = ours.c64?.at(-1) as LoadResult;
    const loadAfter = os.loadavg();
    // Issue 14's targets: c=1 p50 < 2 ms (goal 1 ms), overhead < 1 ms, c=64 at least 100× the baseline.
    const targets = {
      throughput_100x_at_c64: rps(ours.c64).median >= 100 * rps(theirs.c64).median,
      p99_no_worse_at_c64: p99(ours.c64).median <= p99(theirs.c64).median,
      p50_no_worse_at_c1: seqOurs.p50_ms.median <= seqTheirs.p50_ms.median,
      overhead_under_1ms_at_c1: seqOurs.overhead_p50_ms.median < 1,
      c1_p50_under_2ms: seqOurs.p50_ms.median < 2,
      c1_p50_under_1ms_goal: seqOurs.p50_ms.median < 1,
    };
    const byConcurrency = (all: Record<string, LoadResult[]>) =>
      Object.fromEntries(Object.entries(all).map(([k, runs]) => [k, { rps: rps(runs), p50_ms: spreadOf(runs, (r) => r.p50_ms), p99_ms: p99(runs), runs }]));
    const file = await writeResult({
      name: "inference",
      ours: headlineOurs.median,
      baseline: headlineTheirs.median,
      ratio,
      unit: `requests/s at concurrency ${worst.c} (single-row requests; the concurrency of the lowest ratio), median of runs`,
      runs: RUNS,
      ours_spread: headlineOurs,
      baseline_spread: headlineTheirs,
      load_generator: { ...LOAD_GENERATOR, concurrency: CONCURRENCY, seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, sequential_requests: SEQUENTIAL },
      notes:
        `Same registered model (scikit-learn ${trained.sklearn} RandomForestClassifier, 100 trees, ${FEATURES} features, logged with the plain mlflow.sklearn.log_model in a job's runtime: cloudpickle), same machine, ` +
        `${RUNS} runs of the whole sweep; ${SECONDS} s per point after ${WARMUP_SECONDS} s of warm-up, closed loop, one fixed single-row body per server. ` +
        `Headline: the concurrency where ours compares worst (c=${worst.c}); ratios by concurrency: ${ratios.map((r) => `c${r.c} ×${round(r.ratio)}`).join(", ")}. ` +
        `ours = POST /mlops/inference through the gateway, NATS request/reply and the inference service to one model worker (served_by: ${servedBy}; the model is compiled to ONNX after its first prediction; micro-batching with the defaults: at most 256 rows, at most 5 ms of idle worker to let a batch fill). ` +
        `baseline = \`${baselineCommand}\` (MLFLOW_TRACKING_URI set), started with the interpreter of the environment our worker runs in (built from the model's requirements.txt), POST /invocations with dataframe_split. ` +
        `Both answered the same prediction before measuring; the two are measured alternately at each concurrency. Sequential figures: ${SEQUENTIAL} requests one at a time per server, alternating in rounds of 50, timed with performance.now(); in-predict = the worker's own timing of model.predict. ` +
        `Load average before/after: ${loadBefore.map((l) => l.toFixed(1)).join(" ")} / ${loadAfter.map((l) => l.toFixed(1)).join(" ")} on ${os.cpus().length} cores; the load generator, both servers, NATS and MLflow share them.`,
      targets,
      // The compiled path's figures (issue 14): concurrency 1, median of runs.
      c1_p50_ms_ours: seqOurs.p50_ms.median,
      c1_p50_ms_baseline: seqTheirs.p50_ms.median,
      overhead_p50_ms: seqOurs.overhead_p50_ms.median,
      served_by: servedBy,
      limits: limitsText(o64, batching.c64, cpuAtC64, seqOurs.overhead_p50_ms.median, stages, { ...floor, overhead_p50_ms: spreadOf(floors, (f) => f.overhead_p50_ms).median }, {
        ours: cpuSpread(sequentialRuns.map((r) => r.cpu_us_per_request)),
        floor: cpuSpread(floors.map((f) => f.cpu_us_per_request)),
        hop,
      }),
      ours_by_concurrency: byConcurrency(ours),
      baseline_by_concurrency: byConcurrency(theirs),
      ours_invocations_c64: oursInvocations,
      ours_batching: batching,
      ours_cpu_at_c64: cpuAtC64,
      sequential: { ours: seqOurs, baseline: seqTheirs, runs: sequentialRuns.map((r) => ({ ours: r.ours, baseline: r.baseline })) },
      // Where a request's time goes at concurrency 1, as CPU each process spent per request (median of runs).
      ours_c1_cpu_us_per_request: cpuSpread(sequentialRuns.map((r) => r.cpu_us_per_request)),
      ours_c1_mean_breakdown_ms: stages,
      loopback_round_trip_ms: hop,
      transport_floor: { overhead_p50_ms: spreadOf(floors, (f) => f.overhead_p50_ms), cpu_us_per_request: cpuSpread(floors.map((f) => f.cpu_us_per_request)), runs: floors },
      in_predict_python_ms: trained.timings,
      baseline_command: baselineCommand,
    });
    console.log(`inference: c=${worst.c} (worst ratio) ours ${headlineOurs.median} req/s vs baseline ${headlineTheirs.median} req/s (×${ratio}); c=1 sequential p50 ${seqOurs.p50_ms.median} vs ${seqTheirs.p50_ms.median} ms -> ${file}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Requests one at a time, alternating between the servers in rounds so both see the same machine. */
async function sequentialPair(
  oursUrl: string,
  oursBody: string,
  baselineUrl: string,
  baselineBody: string,
  metrics: () => Promise<Record<string, number>>,
): Promise<{ ours: Sequential; baseline: Sequential; stages: Record<string, number> }> {
  const samples = { ours: { latencies: [] as number[], predicts: [] as number[], overheads: [] as number[] }, baseline: { latencies: [] as number[] } };
  for (let i = 0; i < 100; i++) {
    await post(oursUrl, oursBody);
    await post(baselineUrl, baselineBody);
  }
  const ROUND = 50;
  const before = await metrics();
  for (let done = 0; done < SEQUENTIAL; done += ROUND) {
    for (let i = 0; i < ROUND; i++) {
      const { ms, text } = await timed(oursUrl, oursBody);
      const predictMs = (JSON.parse(text) as { inference_time_ms: number }).inference_time_ms;
      samples.ours.latencies.push(ms);
      samples.ours.predicts.push(predictMs);
      samples.ours.overheads.push(ms - predictMs);
    }
    for (let i = 0; i < ROUND; i++) samples.baseline.latencies.push((await timed(baselineUrl, baselineBody)).ms);
  }
  const summary = (latencies: number[]) => ({
    p50_ms: pct(latencies, 50),
    p90_ms: pct(latencies, 90),
    p99_ms: pct(latencies, 99),
    mean_ms: round(latencies.reduce((a, b) => a + b, 0) / latencies.length, 3),
  });
  const after = await metrics();
  // Where a request's time goes, as means (the service's histograms have sums and counts, not medians).
  const mean = (sum: string, count: string) => (1000 * ((after[sum] ?? 0) - (before[sum] ?? 0))) / Math.max(1, (after[count] ?? 0) - (before[count] ?? 0));
  const predict = mean("asgard_inference_predict_seconds_sum", "asgard_inference_batch_rows_count");
  const worker = mean("asgard_inference_worker_seconds_sum", "asgard_inference_batch_rows_count");
  const service = mean("predict_request_seconds_sum", "predict_request_seconds_count");
  const client = samples.ours.latencies.reduce((a, b) => a + b, 0) / samples.ours.latencies.length;
  const stages = {
    inside_predict: round(predict, 3),
    worker_around_predict: round(worker - predict, 3),
    inference_service_and_worker_pipe: round(service - worker, 3),
    client_gateway_and_nats: round(client - service, 3),
    total: round(client, 3),
  };
  return {
    ours: { ...summary(samples.ours.latencies), in_predict_p50_ms: pct(samples.ours.predicts, 50), overhead_p50_ms: pct(samples.ours.overheads, 50) },
    baseline: { ...summary(samples.baseline.latencies), in_predict_p50_ms: null, overhead_p50_ms: null },
    stages,
  };
}

async function timed(url: string, body: string): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  const res = await post(url, body);
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${res.text.slice(0, 300)}`);
  return { ms, text: res.text };
}

const pct = (values: number[], p: number) => round(percentile(values, p), 3);

/**
 * What one hop between two processes costs on this machine: a TCP echo round trip, back to
 * back and after 5 ms of idle (as between two requests at concurrency 1, while a predict
 * runs elsewhere). Our request crosses four such round trips (client–gateway, gateway–NATS,
 * NATS–inference, inference–worker), the baseline one.
 */
async function loopbackRoundTrip(): Promise<{ busy_ms: number; after_idle_ms: number }> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("data", (d) => socket.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  // The echo runs in a child process, as every hop of the request path crosses processes.
  const echo = spawnManaged({
    name: "tcp-echo",
    command: process.execPath,
    args: ["-e", `const s=require("net").connect(${port},"127.0.0.1");s.setNoDelay(true);s.on("data",d=>s.write(d));`],
  });
  const socket = await new Promise<Socket>((resolve) => server.once("connection", resolve));
  socket.setNoDelay(true);
  const measureRounds = async (idleMs: number) => {
    const rts: number[] = [];
    for (let i = 0; i < 300; i++) {
      if (idleMs > 0) await sleep(idleMs);
      const started = performance.now();
      socket.write("x");
      await new Promise((r) => socket.once("data", r));
      rts.push(performance.now() - started);
    }
    return pct(rts, 50);
  };
  try {
    return { busy_ms: await measureRounds(0), after_idle_ms: await measureRounds(5) };
  } finally {
    socket.destroy();
    await echo.stop();
    server.close();
  }
}

/** The inference service's Prometheus metrics that describe batching. */
async function scrape(port: number): Promise<Record<string, number>> {
  const res = await request(`http://127.0.0.1:${port}/metrics`);
  const text = await res.body.text();
  const out: Record<string, number> = {};
  for (const name of ["asgard_inference_batch_rows_sum", "asgard_inference_batch_rows_count", "asgard_inference_batch_requests_sum", "asgard_inference_predict_seconds_sum", "asgard_inference_worker_seconds_sum"]) {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
    out[name] = match ? Number(match[1]) : 0;
  }
  for (const part of ["sum", "count"]) {
    const match = new RegExp(`^asgard_inference_request_seconds_${part}\\{[^}]*endpoint="predict"[^}]*\\} ([0-9.e+-]+)$`, "m").exec(text);
    out[`predict_request_seconds_${part}`] = match ? Number(match[1]) : 0;
  }
  return out;
}

function batchingBetween(before: Record<string, number>, after: Record<string, number>) {
  const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  const calls = Math.max(1, d("asgard_inference_batch_rows_count"));
  return {
    rows_per_call: round(d("asgard_inference_batch_rows_sum") / calls),
    requests_per_call: round(d("asgard_inference_batch_requests_sum") / calls),
    predict_ms_per_call: round((d("asgard_inference_predict_seconds_sum") * 1000) / calls, 3),
    worker_ms_per_call: round((d("asgard_inference_worker_seconds_sum") * 1000) / calls, 3),
  };
}

/** What the run says about where the time goes, in words, from its own figures. */
function limitsText(
  o64: LoadResult,
  batch: ReturnType<typeof batchingBetween> | undefined,
  cpu: Record<string, { ms_per_s: number; us_per_request: number }>,
  overheadP50Ms: number,
  stages: Record<string, number>,
  floor: TransportFloor,
  c1: { ours: Record<string, number>; floor: Record<string, number>; hop: { busy_ms: number; after_idle_ms: number } },
): string {
  const listed = (cpu: Record<string, number>) =>
    Object.entries(cpu)
      .map(([name, us]) => `${name} ${us} µs`)
      .join(", ");
  const calls = batch ? o64.rps / Math.max(batch.requests_per_call, 1) : 0;
  const workerBusy = batch ? Math.round((calls * batch.worker_ms_per_call) / 10) : 0;
  const cpuTotal = Object.values(cpu).reduce((n, c) => n + c.ms_per_s, 0);
  const byProcess = Object.entries(cpu)
    .map(([name, c]) => `${name} ${c.us_per_request} µs`)
    .join(", ");
  return (
    `At c=64 the Python worker was busy ${workerBusy}% of the time (${Math.round(calls)} predict calls/s of ${batch?.requests_per_call ?? "?"} requests each, ${batch?.worker_ms_per_call ?? "?"} ms per call): ` +
    `the worker is not the limit, the CPU is — our processes used ${Math.round(cpuTotal)} ms of CPU per second of the machine's ${os.cpus().length * 1000} ` +
    `(CPU per request: ${byProcess}); whatever else runs on the machine takes the rest. ` +
    `At c=1 nothing is batched, and the p50 overhead (${overheadP50Ms} ms, median of runs) is process hops and per-request work; mean per request: ` +
    `${stages.inside_predict} ms inside predict, ${stages.worker_around_predict} ms in the worker around it (frame, output), ` +
    `${stages.inference_service_and_worker_pipe} ms in the inference service and its pipe to the worker, ` +
    `${stages.client_gateway_and_nats} ms between the client, the gateway and NATS (HTTP, two NATS hops each way, validation on both sides). ` +
    `The same path answered by a stand-in process that only keeps a core busy for ${floor.spin_ms} ms costs ${floor.overhead_p50_ms} ms at p50 over that pause: ` +
    `${floor.overhead_p50_ms} ms of the overhead is HTTP + NATS request/reply between three processes that idle while the model computes, before any model work; ` +
    `the rest is the inference service, its pipe to the worker and the worker's framing. ` +
    `CPU per request at c=1 (median of runs): ${listed(c1.ours)}; on the stand-in path: ${listed(c1.floor)}. ` +
    `A request at c=1 wakes a sleeping process at least ${HOPS_AT_C1} times (client → gateway → NATS → inference → worker and back); one TCP round trip between two processes (two wake-ups) takes ${c1.hop.after_idle_ms} ms here after 5 ms idle, ` +
    `so on this machine the wake-ups alone are about ${round((HOPS_AT_C1 / 2) * c1.hop.after_idle_ms, 3)} ms and the CPU of the processes on the path the rest; with the machine shared by other work, each wake-up may also wait for a core.`
  );
}

interface TransportFloor {
  spin_ms: number;
  p50_ms: number;
  overhead_p50_ms: number;
  overhead_p90_ms: number;
  /** CPU each process on the path spent per request (gateway, NATS, the stand-in), in µs. */
  cpu_us_per_request: Record<string, number>;
}

/** Process wake-ups of one request at c=1: client→gateway→NATS→inference→worker, and back to the client. */
const HOPS_AT_C1 = 8;

/** CPU (µs) each process spent per request between two readings of `cpuTimes`. */
function perRequestUs(before: Record<string, number>, after: Record<string, number>, requests: number): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((name) => [name, Math.round((((after[name] ?? 0) - (before[name] ?? 0)) * 1000) / requests)]));
}

/** The median over runs of each process's CPU per request. */
function cpuSpread(runs: Record<string, number>[]): Record<string, number> {
  const names = Object.keys(runs[0] ?? {});
  return Object.fromEntries(names.map((name) => [name, spread(runs.map((r) => r[name] ?? 0), 0).median]));
}

/**
 * The overhead with no model at all: the inference service is stopped and a stand-in answers
 * the same NATS endpoint after keeping a core busy for the model's p50 predict time, so the
 * client, the gateway and NATS see the same pause. The caller stops the inference service first.
 */
async function transportFloor(url: string, body: string, opts: { natsUrl: string; spinMs: number; dir: string; pids: Record<string, number> }): Promise<TransportFloor> {
  const standIn = spawnManaged({
    name: "stand-in-predictor",
    command: process.execPath,
    args: [...FROM_SOURCES, join(import.meta.dirname, "stand-in-predictor.ts")],
    env: { ...process.env, NATS_URL: opts.natsUrl, SPIN_MS: String(opts.spinMs) },
    logFile: join(opts.dir, "stand-in-predictor.log"),
  });
  try {
    await waitFor(url, async () => (await post(url, body)).status === 200, 600);
    for (let i = 0; i < 100; i++) await post(url, body);
    const latencies: number[] = [];
    const overheads: number[] = [];
    const pids = { ...opts.pids, "stand-in": standIn.pid };
    const cpuBefore = await cpuTimes(pids);
    for (let i = 0; i < SEQUENTIAL; i++) {
      const { ms, text } = await timed(url, body);
      latencies.push(ms);
      overheads.push(ms - (JSON.parse(text) as { inference_time_ms: number }).inference_time_ms);
    }
    return {
      spin_ms: round(opts.spinMs, 3),
      p50_ms: pct(latencies, 50),
      overhead_p50_ms: pct(overheads, 50),
      overhead_p90_ms: pct(overheads, 90),
      cpu_us_per_request: perRequestUs(cpuBefore, await cpuTimes(pids), SEQUENTIAL),
    };
  } finally {
    await standIn.stop();
  }
}

/** Each process's CPU over a load run (warm-up included): per second, and per measured request (approximate). */
function cpuShares(before: Record<string, number>, after: Record<string, number>, requests: number, seconds: number) {
  const out: Record<string, { ms_per_s: number; us_per_request: number }> = {};
  const perSecondRequests = requests / SECONDS;
  for (const name of Object.keys(after)) {
    const ms = (after[name] ?? 0) - (before[name] ?? 0);
    out[name] = { ms_per_s: round(ms / seconds, 1), us_per_request: round(((ms / seconds) * 1000) / Math.max(1, perSecondRequests), 0) };
  }
  return out;
}

const line = (r: LoadResult) => `${r.rps} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, errors ${r.errors + r.non2xx}`;
