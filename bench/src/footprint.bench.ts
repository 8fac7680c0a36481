import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { descendants, spawnManaged, type ManagedProcess } from "@asgard/infra";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { createPyEnvManager, type PyEnvManager } from "@asgard/pyenv";
import { ensureMlflowVenv, ensureUv, pythonExecutable } from "@asgard/tools";
import { compiledPath, FEATURES, modelEnvironment, post, requestBodies, startModelsServe, train, type Trained } from "./inference-model.js";
import { LOAD_GENERATOR, load, type LoadResult } from "./load.js";
import { freePort, npmStart, startBenchPlatform, waitFor } from "./platform.js";
import { commandsOf, directorySize, groupCpuMs, groupsOf, sampleGroups, type GroupSample } from "./proc-usage.js";
import { writeResult } from "./results.js";
import { repeat, round, spread, type Spread } from "./spread.js";

/**
 * What the platform costs in memory and CPU, as `npm start` runs it (built JS), against MLflow's
 * own serving stack on the same model: `mlflow server` + `mlflow models serve`.
 * Per run: a fresh `npm start` idle; the bench model (inference.bench's RandomForest) trained,
 * registered and served once (compiled to ONNX); then c=64 single-row load on each stack.
 * Also per run: the Node services' idle memory when run from their TypeScript sources under tsx
 * (as tests and other benches start them), to show what the build saves.
 */
const RUNS = 3;
const CONNECTIONS = 64;
const SECONDS = 10;
const WARMUP_SECONDS = 3;
/** Idle figures: the mean of this many samples, one a second, after SETTLE_SECONDS. */
const IDLE_SAMPLES = 5;
const SETTLE_SECONDS = 10;
const MODEL = "bench-random-forest";
const NODE_SERVICES = ["job-scheduler", "status", "registry", "inference", "python-runner", "gateway"];

type Groups = Record<string, number[]>;
interface Footprint {
  groups: Record<string, GroupSample>;
  total: GroupSample;
}
interface LoadFootprint extends Footprint {
  requests: number;
  rps: number;
  errors: number;
  /** CPU seconds per 1,000 answered requests, by group. */
  cpu_s_per_1000: Record<string, number>;
}
interface Run {
  load_average: number[];
  ours_idle_after_start: Footprint;
  ours_idle_model_loaded: Footprint;
  ours_c64: LoadFootprint;
  baseline_idle_model_loaded: Footprint;
  baseline_c64: LoadFootprint;
  node_services_idle_tsx: Footprint;
  served_by: string;
  env: { job: ReturnType<typeof directorySize> & { key: string }; model: ReturnType<typeof directorySize> & { key: string } };
  commands: Record<string, string[]>;
}

/**
 * The environment cache outlives the bench, as a user's does across restarts: the model's
 * environment and its ONNX converter take minutes to build, and are built once.
 */
const ENV_CACHE = join(tmpdir(), "asgard-bench-footprint-envs");

export async function run(): Promise<void> {
  const runs = await repeat(RUNS, async (i) => {
    const result = await oneRun(ENV_CACHE);
    console.log(`footprint run ${i + 1}/${RUNS}: ours idle ${mib(result.ours_idle_after_start.total)}, model loaded ${mib(result.ours_idle_model_loaded.total)}, c64 ${mib(result.ours_c64.total)}; baseline idle ${mib(result.baseline_idle_model_loaded.total)}, c64 ${mib(result.baseline_c64.total)}`);
    return result;
  });
  await writeFootprint(runs);
}

/** Each figure as it is measured, so a run that fails later still leaves what it saw in the log. */
function report(what: string, f: Footprint): Footprint {
  const parts = Object.entries(f.groups).map(([n, g]) => `${n} ${Math.round(g.rss_mib)}`);
  console.log(`footprint: ${what}: total ${mib(f.total)}; by process (MiB RSS): ${parts.join(", ")}`);
  return f;
}

const mib = (s: GroupSample) => `${Math.round(s.rss_mib)} MiB RSS${s.pss_mib === null ? "" : ` (${Math.round(s.pss_mib)} PSS)`}`;

async function oneRun(cache: string): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), "asgard-bench-footprint-"));
  const stops: Array<() => Promise<void>> = [];
  const loadAverage = os.loadavg().map((l) => round(l));
  try {
    // Ours, as a user gets it: the environment cache is shared by the runs (as by a user's restarts).
    const ours = await npmStart({ dataDir: join(dir, "asgard"), env: { ENV_CACHE_DIR: cache } });
    stops.push(() => ours.top.stop(60_000));
    const oursGroups = () => platformGroups(ours.top.pid, ours.dataDir);
    await sleep(SETTLE_SECONDS * 1000);
    const oursIdleAfterStart = report("ours idle after start", await idle(oursGroups));

    // The baseline's tracking server: MLflow's own `mlflow server`, set up as ours is (one worker, no job runner), in its own store.
    const theirServer = await startPlainMlflowServer(join(dir, "baseline"));
    stops.push(() => theirServer.process.stop(10_000));
    const oursMlflow = createMlflowClient({ baseUrl: ours.mlflowUrl, timeoutMs: 60_000 });
    const theirMlflow = createMlflowClient({ baseUrl: theirServer.url, timeoutMs: 60_000 });
    stops.push(async () => {
      await oursMlflow.close();
      await theirMlflow.close();
    });
    const pyenv = createPyEnvManager({ root: cache, uvPath: await ensureUv(), python: pythonExecutable(), pins: [`mlflow==${await oursMlflow.version()}`] });

    // The same model (fixed seeds) logged to each stack's tracking server.
    console.log("footprint: training the bench model into both tracking servers…");
    const oursModel = await trainAndRegister(pyenv, oursMlflow, ours.mlflowUrl, dir);
    const theirModel = await trainAndRegister(pyenv, theirMlflow, theirServer.url, dir);
    const bodies = requestBodies(MODEL, oursModel.version, oursModel.trained.row);
    const oursUrl = `${ours.api}/mlops/inference`;
    console.log("footprint: loading the model into our worker and waiting for its compiled path…");
    await waitFor(oursUrl, async () => (await post(oursUrl, bodies.ours)).status === 200, 6_000);
    const servedBy = await compiledPath(oursUrl, bodies.ours, 600);
    const oursIdleModel = report(`ours idle, model loaded (${servedBy})`, await idle(oursGroups));

    const lease = await modelEnvironment(pyenv, theirMlflow, theirModel.trained.model_id);
    stops.push(() => lease.release());
    const serve = await startModelsServe({ lease, trackingUri: theirServer.url, modelUri: `models:/${MODEL}/${theirModel.version}`, body: bodies.mlflow, dir });
    stops.push(() => serve.process.stop());
    const theirGroups = (): Groups => groupsOf({ "mlflow server": theirServer.process.pid, "mlflow models serve": serve.process.pid });
    const ourAnswer = JSON.parse((await post(oursUrl, bodies.ours)).text) as { predictions: unknown[] };
    const theirAnswer = JSON.parse((await post(serve.url, bodies.mlflow)).text) as { predictions: unknown[] };
    if (JSON.stringify(ourAnswer.predictions) !== JSON.stringify(theirAnswer.predictions)) {
      throw new Error(`the two stacks disagree: ours ${JSON.stringify(ourAnswer.predictions)}, mlflow ${JSON.stringify(theirAnswer.predictions)}`);
    }
    const baselineIdle = report("baseline idle, model loaded", await idle(theirGroups));

    const oursC64 = await underLoad(oursUrl, bodies.ours, oursGroups);
    report(`ours c=${CONNECTIONS} peak (${oursC64.rps} req/s; CPU s per 1,000: ${JSON.stringify(oursC64.cpu_s_per_1000)})`, oursC64);
    const baselineC64 = await underLoad(serve.url, bodies.mlflow, theirGroups);
    report(`baseline c=${CONNECTIONS} peak (${baselineC64.rps} req/s; CPU s per 1,000: ${JSON.stringify(baselineC64.cpu_s_per_1000)})`, baselineC64);
    const jobLease = await pyenv.acquire(["scikit-learn"]);
    const env = { job: { key: jobLease.envKey, ...directorySize(jobLease.path) }, model: { key: lease.envKey, ...directorySize(lease.path) } };
    await jobLease.release();
    const commands = Object.fromEntries([...Object.entries(oursGroups()), ...Object.entries(theirGroups())].map(([name, pids]) => [name, commandsOf(pids)]));

    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    console.log(`footprint: environments on disk: ${JSON.stringify(env)}`);
    const tsx = report("Node services idle under tsx", await nodeServicesUnderTsx(cache));
    return {
      load_average: loadAverage,
      ours_idle_after_start: oursIdleAfterStart,
      ours_idle_model_loaded: oursIdleModel,
      ours_c64: oursC64,
      baseline_idle_model_loaded: baselineIdle,
      baseline_c64: baselineC64,
      node_services_idle_tsx: tsx,
      served_by: servedBy,
      env,
      commands,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** `mlflow server` as MLflow ships it (its CLI process and the uvicorn server it starts), from the platform's MLflow virtualenv. */
async function startPlainMlflowServer(dir: string): Promise<{ url: string; process: ManagedProcess }> {
  const venv = await ensureMlflowVenv();
  const port = await freePort();
  const args = ["server", "--host", "127.0.0.1", "--port", String(port), "--workers", "1", "--backend-store-uri", `sqlite:///${join(dir, "mlflow.db")}`, "--serve-artifacts", "--artifacts-destination", join(dir, "artifacts")];
  await mkdir(dir, { recursive: true });
  const proc = spawnManaged({
    name: "baseline-mlflow-server",
    command: join(venv, "bin", "mlflow"),
    args,
    env: { PATH: `${join(venv, "bin")}:${process.env.PATH ?? ""}`, HOME: process.env.HOME ?? "/tmp", LANG: "C.UTF-8", MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false" },
    logFile: join(dir, "mlflow.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/health`, (r) => r.ok, 1_200);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, process: proc };
}

async function trainAndRegister(pyenv: PyEnvManager, mlflow: MlflowClient, trackingUri: string, dir: string): Promise<{ trained: Trained; version: string }> {
  const trained = await train(pyenv, trackingUri, dir);
  await mlflow.createRegisteredModel(MODEL);
  const mv = await mlflow.createModelVersion({ name: MODEL, source: trained.uri, runId: trained.run_id, modelId: trained.model_id });
  await mlflow.waitForModelVersionReady(MODEL, mv.version);
  return { trained, version: mv.version };
}

/**
 * Every process `npm start` runs, by what it is: each supervised process (its run record
 * names it) with all its descendants (MLflow's server workers, inference's model workers and
 * their sandboxes), and the launcher itself (bootstrap + start).
 */
async function platformGroups(top: number, dataDir: string): Promise<Groups> {
  const runDir = join(dataDir, "run");
  const roots: Record<string, number> = {};
  for (const file of (await readdir(runDir)).filter((f) => f.endsWith(".json") && f !== "owner.json")) {
    const record = JSON.parse(await readFile(join(runDir, file), "utf8")) as { pid: number };
    roots[file.slice(0, -".json".length)] = record.pid;
  }
  const groups = groupsOf(roots);
  const named = new Set(Object.values(groups).flat());
  groups["npm start launcher"] = [top, ...descendants(top)].filter((pid) => !named.has(pid));
  return groups;
}

/** The mean of IDLE_SAMPLES samples a second apart, per group and in total. */
async function idle(groupsNow: () => Promise<Groups> | Groups): Promise<Footprint> {
  const samples: Array<ReturnType<typeof sampleGroups>> = [];
  for (let i = 0; i < IDLE_SAMPLES; i++) {
    if (i > 0) await sleep(1_000);
    samples.push(sampleGroups(await groupsNow()));
  }
  const mean = (pick: (s: ReturnType<typeof sampleGroups>) => GroupSample | undefined): GroupSample => {
    const got = samples.map(pick).filter((g): g is GroupSample => g !== undefined);
    const avg = (f: (g: GroupSample) => number) => round(got.reduce((n, g) => n + f(g), 0) / Math.max(1, got.length), 1);
    return { rss_mib: avg((g) => g.rss_mib), pss_mib: got.every((g) => g.pss_mib !== null) ? avg((g) => g.pss_mib ?? 0) : null, processes: Math.max(...got.map((g) => g.processes)) };
  };
  const names = Object.keys(samples.at(-1)?.groups ?? {});
  return { groups: Object.fromEntries(names.map((n) => [n, mean((s) => s.groups[n])])), total: mean((s) => s.total) };
}

/**
 * c=64 closed-loop load for SECONDS after WARMUP_SECONDS, memory sampled every second (the
 * peak per group, and the peak of the total), CPU from /proc before and after the measured part.
 */
async function underLoad(url: string, body: string, groupsNow: () => Promise<Groups> | Groups): Promise<LoadFootprint> {
  const headers = { "content-type": "application/json" };
  await load({ url, connections: CONNECTIONS, durationSeconds: WARMUP_SECONDS, method: "POST", body, headers });
  const groups = await groupsNow();
  const cpuBefore = groupCpuMs(groups);
  const samples: Array<ReturnType<typeof sampleGroups>> = [];
  let done = false;
  const sampler = (async () => {
    while (!done) {
      samples.push(sampleGroups(await groupsNow()));
      await sleep(1_000);
    }
  })();
  let result: LoadResult;
  try {
    result = await load({ url, connections: CONNECTIONS, durationSeconds: SECONDS, method: "POST", body, headers });
  } finally {
    done = true;
    await sampler;
  }
  const cpuAfter = groupCpuMs(groups);
  const peak = (pick: (s: ReturnType<typeof sampleGroups>) => GroupSample | undefined): GroupSample => {
    const got = samples.map(pick).filter((g): g is GroupSample => g !== undefined);
    const top = got.reduce((a, b) => (b.rss_mib > a.rss_mib ? b : a));
    return { rss_mib: round(top.rss_mib, 1), pss_mib: top.pss_mib === null ? null : round(top.pss_mib, 1), processes: top.processes };
  };
  const answered = Math.max(1, result.requests - result.errors - result.non2xx);
  return {
    groups: Object.fromEntries(Object.keys(groups).map((n) => [n, peak((s) => s.groups[n])])),
    total: peak((s) => s.total),
    requests: result.requests,
    rps: result.rps,
    errors: result.errors + result.non2xx,
    cpu_s_per_1000: Object.fromEntries(Object.keys(groups).map((n) => [n, round(((cpuAfter[n] ?? 0) - (cpuBefore[n] ?? 0)) / answered, 3)])),
  };
}

/** The Node services idle when started from their sources under tsx, as tests and other benches run them. */
async function nodeServicesUnderTsx(cache: string): Promise<Footprint> {
  const platform = await startBenchPlatform({ services: NODE_SERVICES, env: { ENV_CACHE_DIR: cache } });
  const procs = platform.processes;
  try {
    await sleep(SETTLE_SECONDS * 1000);
    return await idle(() => groupsOf(Object.fromEntries(Object.entries(procs).map(([n, p]) => [n, p.pid]))));
  } finally {
    await platform.stop();
  }
}

async function writeFootprint(runs: Run[]): Promise<void> {
  const s = (pick: (r: Run) => number) => spread(runs.map(pick), 1);
  const byGroup = (pick: (r: Run) => Footprint) => {
    const names = [...new Set(runs.flatMap((r) => Object.keys(pick(r).groups)))];
    return Object.fromEntries(
      names.map((n) => [
        n,
        {
          rss_mib: s((r) => pick(r).groups[n]?.rss_mib ?? 0),
          pss_mib: runs.every((r) => pick(r).groups[n]?.pss_mib != null) ? s((r) => pick(r).groups[n]?.pss_mib ?? 0) : null,
          processes: Math.max(...runs.map((r) => pick(r).groups[n]?.processes ?? 0)),
        },
      ]),
    );
  };
  const totals = (pick: (r: Run) => Footprint) => ({
    rss_mib: s((r) => pick(r).total.rss_mib),
    pss_mib: runs.every((r) => pick(r).total.pss_mib !== null) ? s((r) => pick(r).total.pss_mib ?? 0) : null,
  });
  const cpu = (pick: (r: Run) => LoadFootprint) => {
    const names = Object.keys(pick(runs[0]!).cpu_s_per_1000);
    const table: Record<string, Spread> = Object.fromEntries(names.map((n) => [n, spread(runs.map((r) => pick(r).cpu_s_per_1000[n] ?? 0), 3)]));
    table.total = spread(runs.map((r) => Object.values(pick(r).cpu_s_per_1000).reduce((a, b) => a + b, 0)), 3);
    return table;
  };
  const oursLoad = totals((r) => r.ours_c64).rss_mib;
  const theirsLoad = totals((r) => r.baseline_c64).rss_mib;
  const oursIdle = totals((r) => r.ours_idle_model_loaded).rss_mib;
  const theirsIdle = totals((r) => r.baseline_idle_model_loaded).rss_mib;
  const loads = [
    { load: "c64", ours: oursLoad, baseline: theirsLoad, ratio: round(theirsLoad.median / oursLoad.median) },
    { load: "idle, model loaded", ours: oursIdle, baseline: theirsIdle, ratio: round(theirsIdle.median / oursIdle.median) },
  ];
  const worst = loads.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  const oursRps = s((r) => r.ours_c64.rps);
  const theirRps = s((r) => r.baseline_c64.rps);
  const file = await writeResult({
    name: "footprint",
    ours: worst.ours.median,
    baseline: worst.baseline.median,
    ratio: worst.ratio,
    unit: `MiB resident (RSS summed over every process) ${worst.load === "c64" ? `under c=${CONNECTIONS} inference load` : "idle with the model loaded"}, the load with the lower ratio; median of runs`,
    runs: RUNS,
    ours_spread: worst.ours,
    baseline_spread: worst.baseline,
    load_generator: { ...LOAD_GENERATOR, connections: CONNECTIONS, seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, idle_samples: IDLE_SAMPLES, settle_seconds: SETTLE_SECONDS },
    notes:
      `ours = every process of \`npm start\` (services from built JS, embedded NATS, MLflow and database; the launcher too), grouped by supervised process with all its descendants. ` +
      `baseline = \`mlflow server --workers 1\` as MLflow ships it (its CLI process and the uvicorn server it starts; MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false, as ours) + \`mlflow models serve --env-manager local -w 1\` started from the model's environment, serving the same model (scikit-learn RandomForestClassifier, 100 trees, ${FEATURES} features, fixed seeds, trained once into each tracking server; both answer the same prediction). ` +
      `Every run is a fresh npm start in a new data directory; the environment cache is shared by the runs and kept between invocations, as a user's. Idle = mean of ${IDLE_SAMPLES} samples a second apart after ${SETTLE_SECONDS} s; under load = the peak of samples taken every second during ${SECONDS} s of closed-loop c=${CONNECTIONS} single-row requests after ${WARMUP_SECONDS} s of warm-up. ` +
      `PSS splits shared pages between the processes that map them (null where smaps_rollup is unreadable). CPU s per 1,000 = utime+stime delta over the measured ${SECONDS} s divided by answered requests. ` +
      `Ratios: ${loads.map((l) => `${l.load} ×${l.ratio}`).join(", ")}. c64 throughput: ours ${oursRps.median} req/s, baseline ${theirRps.median} req/s (median of runs). Load average at each run's start: ${runs.map((r) => r.load_average.join("/")).join("; ")} on ${os.cpus().length} cores.`,
    ours_idle_after_start: { total: totals((r) => r.ours_idle_after_start), by_process: byGroup((r) => r.ours_idle_after_start) },
    ours_idle_model_loaded: { total: oursIdle, by_process: byGroup((r) => r.ours_idle_model_loaded) },
    ours_c64: { total: totals((r) => r.ours_c64), by_process: byGroup((r) => r.ours_c64), rps: oursRps },
    baseline_idle_model_loaded: { total: theirsIdle, by_process: byGroup((r) => r.baseline_idle_model_loaded) },
    baseline_c64: { total: totals((r) => r.baseline_c64), by_process: byGroup((r) => r.baseline_c64), rps: theirRps },
    cpu_s_per_1000_predictions: { ours: cpu((r) => r.ours_c64), baseline: cpu((r) => r.baseline_c64) },
    node_services_idle: {
      built_js: byGroup((r) => ({ groups: pickGroups(r.ours_idle_after_start.groups, NODE_SERVICES), total: r.ours_idle_after_start.total })),
      tsx: byGroup((r) => r.node_services_idle_tsx),
      total_built_js_rss_mib: s((r) => NODE_SERVICES.reduce((n, name) => n + (r.ours_idle_after_start.groups[name]?.rss_mib ?? 0), 0)),
      total_tsx_rss_mib: s((r) => r.node_services_idle_tsx.total.rss_mib),
    },
    environment_on_disk: {
      job: { disk_mib: s((r) => r.env.job.disk_mib), apparent_mib: s((r) => r.env.job.apparent_mib), files: runs[0]?.env.job.files },
      model: { disk_mib: s((r) => r.env.model.disk_mib), same_as_job: runs.every((r) => r.env.model.key === r.env.job.key) },
    },
    served_by: [...new Set(runs.map((r) => r.served_by))].join(", "),
    runs_detail: runs.map(({ commands: _c, ...rest }) => rest),
    commands: runs.at(-1)?.commands,
  });
  console.log(`footprint: ${worst.load} ours ${worst.ours.median} MiB vs baseline ${worst.baseline.median} MiB (×${worst.ratio}) -> ${file}`);
}

const pickGroups = (groups: Record<string, GroupSample>, names: string[]) => Object.fromEntries(names.filter((n) => groups[n]).map((n) => [n, groups[n]!]));
