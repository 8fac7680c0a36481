import { WorkerProcess, workerEnv } from "/work/main/services/inference/src/worker-process.ts";
import { createLogger } from "@asgard/telemetry";
const logger = createLogger("smoke", "debug");
const w = new WorkerProcess({ python: "/tmp/infx/venv/bin/python", script: "/work/main/services/inference/src/python/worker.py", cwd: "/tmp/infx", env: workerEnv({ binDir: "/tmp/infx/venv/bin", venv: "/tmp/infx/venv", home: "/tmp/infx" }), label: "smoke", logger });
let t = performance.now();
console.log(JSON.stringify(await w.load(process.argv[2]!, 60000)), performance.now() - t);
const cols = Array.from({ length: 20 }, (_, i) => `f${i}`);
for (let k = 0; k < 3; k++) {
  t = performance.now();
  const r = await w.predict({ columns: cols, values: cols.map(() => [0.1]), proba: true, params: null }, 5000);
  console.log(JSON.stringify(r), (performance.now() - t).toFixed(2));
}
const N = 500; t = performance.now(); let pm = 0;
for (let k = 0; k < N; k++) { const r = await w.predict({ columns: cols, values: cols.map(() => [Math.random()]), proba: false, params: null }, 5000); pm += r.predictMs; }
console.log("avg roundtrip", ((performance.now() - t) / N).toFixed(3), "avg predict", (pm / N).toFixed(3));
try { await w.predict({ columns: cols, values: cols.map(() => ["x"]), proba: false, params: null }, 5000); } catch (e) { console.log("ERR", (e as Error).name, (e as Error).message.slice(0, 200)); }
const p = w.predict({ columns: cols, values: cols.map(() => [0.1]), proba: false, params: null }, 5000);
w.kill("test");
try { await p; } catch (e) { console.log("ERR", (e as Error).name, (e as Error).message.slice(0, 200)); }
console.log(await w.exited);
