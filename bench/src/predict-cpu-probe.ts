import { mkdtemp, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { connectBus } from "@asgard/bus";
import { STREAMS } from "@asgard/contracts";
import { spawnManaged, startMlflowServer, startNatsServer, type ManagedProcess } from "@asgard/infra";
import { createMlflowClient } from "@asgard/mlflow";
import { createPyEnvManager } from "@asgard/pyenv";
import { FROM_SOURCES } from "@asgard/test-support";
import { ensureUv, pythonExecutable } from "@asgard/tools";
import { compiledPath, cpuTimes, FEATURES, post, requestBodies, train, workerPid } from "./inference-model.js";
import { freePort, scratchMlflowOptions, waitFor } from "./platform.js";
import { spread } from "./spread.js";

/**
 * CPU per prediction on the whole request path at concurrency 1: the real gateway and the real
 * inference service (the bench's RandomForest, served by ONNX Runtime once compiled), each
 * process's CPU read from /proc over runs of sequential single-row POST /mlops/inference.
 * Not a benchmark (no baseline, no result file): a tool for iterating on the request path.
 *
 * With PROBE_BEFORE=<another checkout> it also starts that checkout's gateway and inference
 * service, on a nats-server of their own (the two sides must not share the predict queue
 * group), and alternates runs between the two, so both see the machine in the same state.
 * With STAND_IN=1 no model is trained: each side's gateway is answered by this checkout's
 * stand-in predictor (bench/src/stand-in-predictor.ts), for changes to the gateway alone.
 *
 *   npx tsx --conditions=@asgard/source bench/src/predict-cpu-probe.ts [runs] [requests]
 *   PROFILE_DIR=/tmp/prof …   also writes CPU profiles (`--cpu-prof`) of this checkout's services
 */
const runs = Number(process.argv[2] ?? "3");
const requests = Number(process.argv[3] ?? "3000");
const profileDir = process.env.PROFILE_DIR;
const here = join(import.meta.dirname, "..", "..");
const roots: Record<string, string> = process.env.PROBE_BEFORE ? { before: process.env.PROBE_BEFORE, after: here } : { after: here };
const standIn = process.env.STAND_IN === "1";

interface Side {
  name: string;
  url: string;
  pids: Record<string, number>;
}

const dir = await mkdtemp(join(tmpdir(), "asgard-predict-cpu-probe-"));
const stops: Array<() => Promise<void>> = [];
try {
  const envRoot = join(dir, "envs");
  let mlflowUrl = "http://127.0.0.1:9";
  let body = requestBodies("probe-random-forest", "1", Array.from({ length: FEATURES }, (_, i) => i / 7)).ours;
  if (!standIn) {
    const mlflowServer = await startMlflowServer(scratchMlflowOptions(dir));
    stops.push(() => mlflowServer.stop());
    mlflowUrl = mlflowServer.url;
    const mlflow = createMlflowClient({ baseUrl: mlflowServer.url, timeoutMs: 60_000 });
    stops.push(() => mlflow.close());
    const pyenv = createPyEnvManager({ root: envRoot, uvPath: await ensureUv(), python: pythonExecutable(), pins: [`mlflow==${await mlflow.version()}`] });
    console.log("probe: training the model…");
    const trained = await train(pyenv, mlflowServer.url, dir);
    const modelName = "probe-random-forest";
    await mlflow.createRegisteredModel(modelName);
    const mv = await mlflow.createModelVersion({ name: modelName, source: trained.uri, runId: trained.run_id, modelId: trained.model_id });
    await mlflow.waitForModelVersionReady(modelName, mv.version);
    body = requestBodies(modelName, mv.version, trained.row).ours;
  }

  const sides: Side[] = [];
  for (const [name, root] of Object.entries(roots)) {
    const nats = await startNatsServer({ storeDir: join(dir, `nats-${name}`) });
    stops.push(() => nats.stop());
    const owner = await connectBus({ servers: nats.url, name: "probe-stream-owner" });
    await owner.ensureStream(STREAMS.models);
    await owner.close();
    const port = await freePort();
    const env = {
      ...process.env,
      LOG_LEVEL: "warn",
      NATS_URL: nats.url,
      MLFLOW_TRACKING_URI: mlflowUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      ASGARD_DATA_DIR: join(dir, `data-${name}`),
      ENV_CACHE_DIR: envRoot,
      METRICS_PORT: String(await freePort()),
      INFERENCE_LOAD_WAIT_MS: "600000",
    };
    const pids: Record<string, number> = { nats: nats.process.pid };
    const scripts: Record<string, string> = {
      inference: standIn ? join(here, "bench", "src", "stand-in-predictor.ts") : join(root, "services", "inference", "src", "main.ts"),
      gateway: join(root, "services", "gateway", "src", "main.ts"),
    };
    for (const [service, script] of Object.entries(scripts)) {
      const profiled = profileDir && root === here ? ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, service)}`] : [];
      const proc: ManagedProcess = spawnManaged({
        name: `${service}-${name}`,
        command: process.execPath,
        args: [...profiled, ...FROM_SOURCES, script],
        env,
        logFile: join(dir, `${service}-${name}.log`),
      });
      // Stopped before nats (stops run in reverse), so a profile is written on a clean exit.
      stops.push(() => proc.stop());
      pids[service] = proc.pid;
    }
    const url = `http://127.0.0.1:${port}/mlops/inference`;
    console.log(`probe: ${name}: loading the model and waiting for the compiled path…`);
    await waitFor(url, async () => (await post(url, body)).status === 200, 6_000);
    if (!standIn) {
      console.log(`probe: ${name}: served by ${await compiledPath(url, body, 600)}`);
      pids["python worker"] = await workerPid(pids.inference as number);
    }
    sides.push({ name, url, pids });
  }

  // What a client sees must not change: the answers of both sides, minus what varies per request.
  const normalized = async (url: string) => (await post(url, body)).text.replace(/"inference_time_ms":[0-9.e-]+/, "").replace(/"timestamp":"[^"]+"/, "");
  const answers = await Promise.all(sides.map((s) => normalized(s.url)));
  if (new Set(answers).size > 1) throw new Error(`the sides answer differently:\n${answers.join("\n")}`);
  console.log(`probe: answer ${answers[0]}`);

  // The gateway's CPU per request keeps falling over the first few thousand requests (JIT).
  for (const side of sides) for (let i = 0; i < 4000; i++) await post(side.url, body);
  const cpu: Record<string, Record<string, number[]>> = {};
  for (let run = 0; run < runs; run++) {
    // Alternating which side goes first, so neither always runs after the other.
    const order = run % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const before = await cpuTimes(side.pids);
      for (let i = 0; i < requests; i++) {
        const res = await post(side.url, body);
        if (res.status !== 200) throw new Error(`${side.name}: ${res.status}: ${res.text.slice(0, 300)}`);
      }
      const after = await cpuTimes(side.pids);
      const perRequest = Object.keys(side.pids).map((k) => {
        const us = (((after[k] ?? 0) - (before[k] ?? 0)) * 1000) / requests;
        ((cpu[side.name] ??= {})[k] ??= []).push(us);
        return `${k} ${Math.round(us)}`;
      });
      console.log(`run ${run + 1}/${runs} ${side.name}: CPU µs per request: ${perRequest.join(", ")}; load ${os.loadavg()[0]?.toFixed(1)}`);
    }
  }
  for (const side of sides) {
    const byProcess = Object.entries(cpu[side.name] ?? {}).map(([k, v]) => {
      const s = spread(v, 0);
      return `${k} ${s.median} (${s.min}–${s.max})`;
    });
    console.log(`${side.name}: CPU µs per request, median (min–max) of ${runs} runs of ${requests}: ${byProcess.join(", ")}`);
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
