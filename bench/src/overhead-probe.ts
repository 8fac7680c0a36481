import { mkdtemp, readFile, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { request } from "undici";
import { spawnManaged, startNatsServer, type ManagedProcess } from "@asgard/infra";
import { FROM_SOURCES } from "@asgard/test-support";
import { freePort, waitFor } from "./platform.js";
import { percentile, round, spread } from "./spread.js";

/**
 * A focused probe of the platform's own overhead at concurrency 1, for iterating on the request
 * path without a model: nats-server, the real gateway and the stand-in predictor (the same one
 * `inference.bench.ts` uses for its transport floor), then sequential POST /mlops/inference.
 * Prints overhead p50 (latency − the stand-in's reported time) per run and their spread.
 * Not a benchmark (no baseline, no result file): the committed figure comes from
 * `npm run bench -- inference`.
 *
 *   npx tsx --conditions=@asgard/source bench/src/overhead-probe.ts [runs] [requests]
 *   PROFILE_DIR=/tmp/prof …   also writes CPU profiles (`--cpu-prof`) of the gateway and the stand-in
 */
const runs = Number(process.argv[2] ?? "5");
const requests = Number(process.argv[3] ?? "2000");
const profileDir = process.env.PROFILE_DIR;
/** Another checkout's gateway and stand-in (PROBE_ROOT=…), to compare two versions on the same machine state. */
const root = process.env.PROBE_ROOT ?? join(import.meta.dirname, "..", "..");
// One folder per process: Node writes a profile per thread (tsx adds a loader thread).
const profiled = (name: string) => (profileDir ? ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, name)}`] : []);
/** A process of the request path from its sources, as `npm start` runs it (plus the profiler flags). */
const node = (name: string, script: string, env: Record<string, string>, logDir: string): ManagedProcess =>
  spawnManaged({
    name,
    command: process.execPath,
    args: [...profiled(name), ...FROM_SOURCES, script],
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    logFile: join(logDir, `${name}.log`),
  });

/** CPU time (user + system, ms) of each process so far, from /proc (10 ms ticks: read over many requests). */
async function cpuMs(pids: Record<string, number>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
    out[name] = (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), "asgard-overhead-probe-"));
const stops: Array<() => Promise<void>> = [];
try {
  const nats = await startNatsServer({ storeDir: join(dir, "nats") });
  stops.push(() => nats.stop());
  const port = await freePort();
  const gatewayMain = join(root, "services", "gateway", "src", "main.ts");
  const gateway = node("gateway", gatewayMain, { NATS_URL: nats.url, PORT: String(port), HOST: "127.0.0.1", ASGARD_DATA_DIR: dir }, dir);
  stops.push(() => gateway.stop());
  const standIn = node("stand-in-predictor", join(root, "bench", "src", "stand-in-predictor.ts"), { NATS_URL: nats.url, SPIN_MS: "0" }, dir);
  stops.unshift(() => standIn.stop());
  const url = `http://127.0.0.1:${port}/mlops/inference`;
  const body = JSON.stringify({ model_name: "probe", inputs: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, [i / 7]])) });
  const post = async () => {
    const started = performance.now();
    const res = await request(url, { method: "POST", body, headers: { "content-type": "application/json" } });
    const text = await res.body.text();
    const ms = performance.now() - started;
    if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${text.slice(0, 300)}`);
    return ms - (JSON.parse(text) as { inference_time_ms: number }).inference_time_ms;
  };
  await waitFor(url, async () => {
    try {
      await post();
      return true;
    } catch {
      return false;
    }
  });
  // Thousands, not hundreds: the gateway's CPU per request still halves over the first few thousand (JIT).
  for (let i = 0; i < 4000; i++) await post();
  const p50s: number[] = [];
  const cpu: Record<string, number[]> = { gateway: [], nats: [], "stand-in": [] };
  const pids: Record<string, number> = { gateway: gateway.pid, nats: nats.process.pid, "stand-in": standIn.pid };
  for (let run = 0; run < runs; run++) {
    const overheads: number[] = [];
    const before = await cpuMs(pids);
    for (let i = 0; i < requests; i++) overheads.push(await post());
    const after = await cpuMs(pids);
    p50s.push(percentile(overheads, 50));
    const perRequest = Object.keys(pids).map((k) => {
      const us = (((after[k] ?? 0) - (before[k] ?? 0)) * 1000) / requests;
      cpu[k]?.push(us);
      return `${k} ${Math.round(us)} µs`;
    });
    console.log(`run ${run + 1}/${runs}: overhead p50 ${round(percentile(overheads, 50), 3)} ms, p90 ${round(percentile(overheads, 90), 3)} ms; CPU per request: ${perRequest.join(", ")}; load ${os.loadavg()[0]?.toFixed(1)}`);
  }
  const s = spread(p50s);
  console.log(`overhead p50: median ${s.median} ms (min ${s.min}, max ${s.max}) over ${runs} runs of ${requests}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`CPU per request (µs, median of runs): ${Object.entries(cpu).map(([k, v]) => `${k} ${spread(v, 0).median}`).join(", ")}`);
} finally {
  for (const stop of stops) await stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
