import { WorkerProcess, workerEnv } from "../src/worker-process.ts";
import { createLogger } from "@asgard/telemetry";
const logger = createLogger("smoke", "warn");
const w = new WorkerProcess({ python: "/tmp/infx/venv/bin/python", script: "/work/main/services/inference/src/python/worker.py", cwd: "/tmp/infx", env: workerEnv({ binDir: "/tmp/infx/venv/bin", venv: "/tmp/infx/venv", home: "/tmp/infx" }), label: "smoke", logger });
await w.load(process.argv[2]!, 60000);
const cols = Array.from({ length: 20 }, (_, i) => `f${i}`);
const N = 1000; const rts: number[] = []; const pm: number[] = []; const hm: number[] = [];
for (let k = 0; k < N; k++) {
  const t = performance.now();
  const r = await (w as any).predict({ columns: cols, values: cols.map(() => [Math.random()]), proba: false, params: null }, 5000);
  rts.push(performance.now() - t); pm.push(r.predictMs); hm.push(r.handledMs);
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!.toFixed(3);
console.log("rt p50", med(rts), "predict p50", med(pm), "handled", med(hm), "rt-handled p50", med(rts.map((x, i) => x - hm[i]!)), "handled-predict", med(hm.map((x, i) => x - pm[i]!)));
await w.stop(1000);
