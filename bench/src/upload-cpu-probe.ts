import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { spawnManaged, startNatsServer, type ManagedProcess } from "@asgard/infra";
import { createScratchDatabase, FROM_SOURCES } from "@asgard/test-support";
import { freePort, waitFor } from "./platform.js";
import { round, spread } from "./spread.js";

/**
 * A focused probe of the CPU one accepted upload costs (POST /mlops/training/upload → 202) on
 * PostgreSQL, per process: gateway, job-scheduler, nats-server and the database's backends. It
 * starts them as submit-throughput.bench.ts does (no MLflow: neither service needs it), warms
 * them up, then sends a fixed number of uploads over 32 keep-alive connections and divides each
 * process's CPU time (/proc/<pid>/stat) by the uploads. CPU time, not throughput: the machine is
 * shared, so wall-clock figures say little. Not a benchmark (no baseline, no result file).
 *
 *   npx tsx --conditions=@asgard/source bench/src/upload-cpu-probe.ts [rounds] [uploads]
 *   PROBE_ROOTS=/a,/b …   alternates checkouts a, b, a, b… in every round (A/B on the same machine state)
 *   PROFILE_DIR=/tmp/prof …   also writes CPU profiles (`--cpu-prof`) of the gateway and the job-scheduler
 */
const rounds = Number(process.argv[2] ?? "3");
const uploads = Number(process.argv[3] ?? "2000");
const warmUp = Number(process.env.WARM_UP ?? "3000");
const CONNECTIONS = 32;
const roots = (process.env.PROBE_ROOTS ?? join(import.meta.dirname, "..", "..")).split(",");
const profileDir = process.env.PROFILE_DIR;
const baseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const body = JSON.stringify({
  script_name: "train.py",
  script_content: Buffer.from("import mlflow\nprint('hello')\n").toString("base64"),
  experiment_name: "bench-submit",
  model_name: "bench-submit",
  requirements: ["tabulate==0.9.0"],
  timeout: 300,
});

async function cpuMsOf(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** Write and read system calls of one process so far (/proc/<pid>/io): each costs a loopback round of the kernel here. */
async function syscallsOf(pid: number): Promise<{ w: number; r: number }> {
  try {
    const io = await readFile(`/proc/${pid}/io`, "utf8");
    return { w: Number(/^syscw: (\d+)/m.exec(io)?.[1] ?? 0), r: Number(/^syscr: (\d+)/m.exec(io)?.[1] ?? 0) };
  } catch {
    return { w: 0, r: 0 };
  }
}

/** `count` uploads over CONNECTIONS connections, each sending its next when the last is answered. */
async function send(url: string, count: number): Promise<void> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: CONNECTIONS, pipelining: 1 });
  let left = count;
  let failed = 0;
  let lastFailure = "";
  try {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (left-- > 0) {
          const res = await pool.request({ path: target.pathname, method: "POST", body, headers: { "content-type": "application/json" } });
          const text = await res.body.text();
          if (res.statusCode !== 202) {
            failed++;
            lastFailure = `${res.statusCode}: ${text.slice(0, 300)}`;
          }
        }
      }),
    );
  } finally {
    await pool.close();
  }
  if (failed > 0) throw new Error(`${failed} of ${count} uploads failed; the last: ${lastFailure}`);
}

/** Processes whose command line holds `needle` (a PostgreSQL backend's names its database). */
async function pidsWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const line = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (line.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

type Sample = Record<string, number>;

/** Transactions committed in the database so far (psql, so the probe needs no driver of its own). */
function commitsOf(adminUrl: string, database: string): number {
  const out = execFileSync("psql", [adminUrl, "-Atc", `SELECT xact_commit FROM pg_stat_database WHERE datname = '${database}'`], { encoding: "utf8" });
  return Number(out.trim());
}

async function measureOnce(root: string, natsUrl: string, dir: string): Promise<Sample> {
  const scratch = await createScratchDatabase(baseUrl, "asgard_probe");
  const database = new URL(scratch.url).pathname.slice(1);
  const procs: ManagedProcess[] = [];
  try {
    const port = await freePort();
    const env = {
      ...process.env,
      LOG_LEVEL: "warn",
      NATS_URL: natsUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      ASGARD_DATA_DIR: dir,
      DATABASE_URL: scratch.url,
      MAX_ACTIVE_JOBS_PER_TENANT: "0",
    };
    const start = (name: string) => {
      const profiled = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, name)}`] : [];
      const proc = spawnManaged({
        name,
        command: process.execPath,
        args: [...profiled, ...FROM_SOURCES, join(root, "services", name, "src", "main.ts")],
        env,
        logFile: join(dir, `${name}.log`),
      });
      procs.push(proc);
      return proc;
    };
    const scheduler = start("job-scheduler");
    const gateway = start("gateway");
    const api = `http://127.0.0.1:${port}`;
    await waitFor(`${api}/mlops/training/jobs?limit=1`, (r) => r.ok);
    const url = `${api}/mlops/training/upload`;
    // Thousands before measuring: the JIT keeps cutting the CPU per request over the first few thousand.
    await send(url, warmUp);
    const pids = { gateway: gateway.pid, "job-scheduler": scheduler.pid };
    const backends = await pidsWith(` ${database} `);
    const before: Sample = {};
    for (const [name, pid] of Object.entries(pids)) before[name] = await cpuMsOf(pid);
    before.postgres = (await Promise.all(backends.map(cpuMsOf))).reduce((a, b) => a + b, 0);
    const natsPid = Number(process.env.NATS_PID ?? "0");
    before.nats = await cpuMsOf(natsPid);
    const commitsBefore = commitsOf(scratch.adminUrl, database);
    const ioBefore = await Promise.all(Object.values(pids).map(syscallsOf));
    await send(url, uploads);
    const after: Sample = {};
    for (const [name, pid] of Object.entries(pids)) after[name] = await cpuMsOf(pid);
    // A backend opened during the run (the pool grew) counts whole: all its CPU is the run's.
    const backendsAfter = await pidsWith(` ${database} `);
    after.postgres = (await Promise.all([...new Set([...backends, ...backendsAfter])].map(cpuMsOf))).reduce((a, b) => a + b, 0);
    after.nats = await cpuMsOf(natsPid);
    const commitsAfter = commitsOf(scratch.adminUrl, database);
    const ioAfter = await Promise.all(Object.values(pids).map(syscallsOf));
    const perUpload: Sample = {};
    for (const name of Object.keys(after)) perUpload[name] = round((((after[name] ?? 0) - (before[name] ?? 0)) * 1000) / uploads, 0);
    perUpload.total = Object.values(perUpload).reduce((a, b) => a + b, 0);
    // Not CPU: commits per upload (pg_stat_database is updated when a backend goes idle: near enough).
    perUpload.commits = round((commitsAfter - commitsBefore) / uploads, 3);
    // Not CPU: system calls per upload, for the two Node processes (gateway, then job-scheduler).
    Object.keys(pids).forEach((name, i) => {
      perUpload[`${name}_writes`] = round(((ioAfter[i]?.w ?? 0) - (ioBefore[i]?.w ?? 0)) / uploads, 2);
      perUpload[`${name}_reads`] = round(((ioAfter[i]?.r ?? 0) - (ioBefore[i]?.r ?? 0)) / uploads, 2);
    });
    return perUpload;
  } finally {
    for (const proc of procs.reverse()) await proc.stop().catch(() => undefined);
    await scratch.drop();
  }
}

const dir = await mkdtemp(join(tmpdir(), "asgard-upload-cpu-probe-"));
try {
  const nats = await startNatsServer({ storeDir: join(dir, "nats") });
  const [natsPid] = await pidsWith(join(dir, "nats"));
  if (natsPid) process.env.NATS_PID = String(natsPid);
  try {
    const results = new Map<string, Sample[]>(roots.map((r) => [r, []]));
    for (let i = 0; i < rounds; i++) {
      for (const root of roots) {
        const sample = await measureOnce(root, nats.url, dir);
        results.get(root)?.push(sample);
        console.log(`round ${i + 1} ${root}: µs CPU per upload ${JSON.stringify(sample)}`);
      }
    }
    for (const [root, samples] of results) {
      const names = Object.keys(samples[0] ?? {});
      const summary = Object.fromEntries(names.map((n) => [n, spread(samples.map((s) => s[n] ?? 0))]));
      console.log(`${root}: median/min/max µs CPU per upload over ${samples.length} rounds of ${uploads}:`);
      for (const [name, s] of Object.entries(summary)) console.log(`  ${name.padEnd(14)} ${s.median} (${s.min}–${s.max})`);
    }
  } finally {
    await nats.stop();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
