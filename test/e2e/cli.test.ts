import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { FAILING_SCRIPT, type Platform, SEED_SCRIPT, startPlatform } from "@asgard/test-support";

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = join(ROOT, "packages/asgard-cli");
/** The workspace bin, what `npx asgard` runs in a clone. */
const BIN = join(CLI, "bin/asgard.mjs");
const rand = () => Math.random().toString(36).slice(2, 10);

/**
 * Two answers of one model: equal while both come from Python; the model may be compiled to
 * ONNX between them (after its first prediction), whose float32 answers are checked to 1e-5.
 */
function expectSameProbabilities(got: number[][], want: number[][]): void {
  expect(got.map((r) => r.length)).toEqual(want.map((r) => r.length));
  got.forEach((row, i) => row.forEach((p, j) => expect(Math.abs(p - want[i]![j]!)).toBeLessThanOrEqual(1e-5 * Math.max(Math.abs(want[i]![j]!), 1))));
}

/**
 * Prints a line, then waits before training: the test sees that line while the job is still
 * running. Logs the model the way the seed's users wanted to.
 */
const STREAMING_MODEL_SCRIPT = `
import time
import mlflow, mlflow.sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.datasets import make_classification

print("loading data")
time.sleep(30)
X, y = make_classification(n_samples=200, n_features=4, random_state=0)
with mlflow.start_run():
    model = LogisticRegression(max_iter=200).fit(X, y)
    accuracy = model.score(X, y)
    mlflow.log_metric("train_accuracy", accuracy)
    mlflow.sklearn.log_model(model, "model", input_example=X[:2])
    print(f"accuracy: {accuracy:.4f}")
`;

const SLEEPING_SCRIPT = `
import time
print("sleeping")
time.sleep(600)
`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  /** Resolves with the first stdout text matching `pattern`. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Types on the terminal (only with script(1)). */
  type(text: string): void;
  signal(sig: NodeJS.Signals): void;
  done: Promise<Result>;
}

describe("the asgard CLI against the real platform", () => {
  const infra = inject("infra");
  let platform: Platform;
  let dir: string;
  let apiKey: string | undefined;

  const env = () => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ASGARD_") && k !== "FORCE_COLOR"));
    return { ...base, ASGARD_URL: platform.api, ...(apiKey ? { ASGARD_API_KEY: apiKey } : {}) } as NodeJS.ProcessEnv;
  };

  function start(args: string[], extraEnv: Record<string, string> = {}, bin = BIN, direct = false): Running {
    const [program, argv] = direct ? [bin, args] : [process.execPath, [bin, ...args]];
    // script(1) forwards stdin to the terminal: give it one that stays open.
    const child = spawn(program, argv, { cwd: dir, env: { ...env(), ...extraEnv }, stdio: [direct ? "pipe" : "ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const waiters: { pattern: RegExp; resolve: (s: string) => void }[] = [];
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const w of [...waiters]) {
        const m = w.pattern.exec(stdout);
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m[0]);
        }
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
    return {
      waitFor: (pattern) =>
        new Promise<string>((resolve, reject) => {
          const m = pattern.exec(stdout);
          if (m) return resolve(m[0]);
          waiters.push({ pattern, resolve });
          void done.then((r) => reject(new Error(`asgard exited (${r.code}) before printing ${pattern}:\n${r.stdout}\n${r.stderr}`)));
        }),
      signal: (sig) => child.kill(sig),
      type: (text) => child.stdin!.write(text),
      done,
    };
  }
  const asgard = (...args: string[]) => start(args).done;
  /** Runs asgard on a pseudo-terminal (util-linux script(1)); its output is the terminal's. */
  function onTerminal(args: string[], extraEnv: Record<string, string> = {}): Running {
    const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    // script(1) runs the command through $SHELL -c; dash stays as the parent, takes the
    // Ctrl-C itself and dies of it, and script then reports the shell's 130 instead of
    // asgard's code. exec puts asgard in the shell's place whatever the shell is.
    return start(["-qfec", `exec ${quoted}`, "/dev/null"], extraEnv, "/usr/bin/script", true);
  }
  const asgardJson = async <T>(...args: string[]): Promise<T> => {
    const r = await asgard(...args, "--output", "json");
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${platform.api}${path}`, { ...init, headers: { "content-type": "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) } });
    expect(res.ok, await res.clone().text()).toBe(true);
    return (await res.json()) as T;
  };
  const jobIdIn = (stderr: string) => /Job (\S+) queued/.exec(stderr)?.[1];

  beforeAll(async () => {
    platform = await startPlatform(infra, {
      runners: 1,
      runnerEnv: { RUNNER_SLOTS: "2" },
      services: ["job-scheduler", "registry", "inference", "status", "gateway"],
    });
    dir = await mkdtemp(join(infra.workDir, "cli-"));
    await writeFile(join(dir, "train.py"), SEED_SCRIPT);
    await writeFile(join(dir, "model.py"), STREAMING_MODEL_SCRIPT);
    await writeFile(join(dir, "failing.py"), FAILING_SCRIPT);
    await writeFile(join(dir, "sleeping.py"), SLEEPING_SCRIPT);
    await writeFile(join(dir, "requirements.txt"), "# what the script imports\nscikit-learn\n");
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs the seed report's script with train --follow and exits 0 once it completed", async () => {
    const r = await asgard("train", "train.py", "-r", "scikit-learn", "--experiment", "my-experiment", "--model", `cli-seed-${rand()}`, "--follow");
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/Accuracy: \d\.\d{4}/);
    expect(r.stderr).toMatch(/completed/);
    expect(r.stderr).not.toMatch(/\s+at /);
  }, 600_000);

  const model = `cli-model-${rand()}`;
  let modelJobId = "";

  it("prints the script's output while the job runs, and registers its model", async () => {
    const follow = start(["train", "model.py", "--requirements-file", "requirements.txt", "--experiment", `cli-${rand()}`, "--model", model, "--follow"]);
    await follow.waitFor(/loading data/);
    // The line arrived while the script still had its training ahead of it.
    const jobs = await api<{ jobs: { job_id: string; status: string; model_name: string }[] }>(`/mlops/training/jobs?limit=5`);
    const live = jobs.jobs.find((j) => j.model_name === model);
    expect(live?.status).toBe("running");
    const result = await follow.done;
    expect(result.code, result.stderr + result.stdout).toBe(0);
    modelJobId = jobIdIn(result.stderr) ?? "";
    const job = await api<{ status: string; model_version: string | null; logs: string }>(`/mlops/training/jobs/${modelJobId}`);
    expect(job.status).toBe("completed");
    expect(job.model_version).toBe("1");
    expect(result.stdout).toMatch(/loading data[\s\S]*accuracy: \d\.\d{4}/);
    expect(result.stderr).toContain(`model ${model} version 1`);
  }, 600_000);

  it("a failing script: train --follow exits 1 and shows the error", async () => {
    const r = await asgard("train", "failing.py", "--experiment", `cli-fail-${rand()}`, "--model", `cli-fail-${rand()}`, "--follow");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("about to fail");
    expect(r.stderr).toMatch(/failed/);
    expect(r.stdout + r.stderr).toContain("the training data is empty");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 600_000);

  it("predict answers the same numbers as the API, from --json and from --csv, by version and by alias", async () => {
    const inputs = { f0: [0.5, -1.2, 2.0], f1: [1.0, 0.3, -0.7], f2: [-0.4, 0.8, 0.1], f3: [1.5, -0.2, 0.9] };
    const direct = await api<{ predictions: unknown[]; probabilities: number[][] }>("/mlops/inference", {
      method: "POST",
      body: JSON.stringify({ model_name: model, inputs, return_probabilities: true }),
    });
    const fromJson = await asgardJson<{ predictions: unknown[]; probabilities: number[][]; model_version: string }>(
      "predict",
      model,
      "--json",
      JSON.stringify({ inputs, return_probabilities: true }),
    );
    expect(fromJson.predictions).toEqual(direct.predictions);
    expectSameProbabilities(fromJson.probabilities, direct.probabilities);
    expect(fromJson.model_version).toBe("1");

    const csv = ["f0,f1,f2,f3", ...inputs.f0.map((_, i) => [inputs.f0[i], inputs.f1[i], inputs.f2[i], inputs.f3[i]].join(","))].join("\n");
    await writeFile(join(dir, "rows.csv"), csv + "\n");
    const fromCsv = await asgardJson<{ predictions: unknown[]; probabilities: number[][] }>("predict", `${model}:1`, "--csv", "rows.csv", "-p");
    expect(fromCsv.predictions).toEqual(direct.predictions);
    expectSameProbabilities(fromCsv.probabilities, direct.probabilities);

    const set = await asgard("models", "alias", "set", model, "champion", "1");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`${model}@champion → version 1`);
    const byAlias = await asgardJson<{ predictions: unknown[]; model_version: string }>("predict", `${model}@champion`, "--csv", "rows.csv");
    expect(byAlias.predictions).toEqual(direct.predictions);
    expect(byAlias.model_version).toBe("1");

    // Piped, the table is tab-separated rows: row number, prediction.
    const plain = await asgard("predict", `${model}@champion`, "--csv", "rows.csv");
    expect(plain.stdout.trim().split("\n")).toEqual(direct.predictions.map((p, i) => `${i}\t${JSON.stringify(p)}`));

    const bad = await asgard("predict", model, "--json", JSON.stringify({ inputs: { f0: [1] } }));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/HTTP 422/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 300_000);

  it("--output json parses for every read command", async () => {
    const status = await asgardJson<{ mlflow_available: boolean; registered_models: number }>("status");
    expect(typeof status.mlflow_available).toBe("boolean");
    const list = await asgardJson<{ jobs: { job_id: string }[] }>("jobs", "ls");
    expect(list.jobs.map((j) => j.job_id)).toContain(modelJobId);
    const failed = await asgardJson<{ jobs: { status: string }[] }>("jobs", "ls", "--status", "failed");
    expect(failed.jobs.length).toBeGreaterThan(0);
    expect(new Set(failed.jobs.map((j) => j.status))).toEqual(new Set(["failed"]));
    const job = await asgardJson<{ job_id: string; status: string; model_version: string }>("jobs", "show", modelJobId);
    expect(job).toMatchObject({ job_id: modelJobId, status: "completed", model_version: "1" });
    const logs = await asgardJson<{ logs: string }>("jobs", "logs", modelJobId);
    expect(logs.logs).toContain("loading data");
    const script = await asgardJson<{ script: string }>("jobs", "script", modelJobId);
    expect(script.script).toBe(STREAMING_MODEL_SCRIPT);
    const models = await asgardJson<{ name: string }[]>("models", "ls");
    expect(models.map((m) => m.name)).toContain(model);
    const shown = await asgardJson<{ name: string; aliases: Record<string, string> }>("models", "show", model);
    expect(shown).toMatchObject({ name: model, aliases: { champion: "1" } });
    const keys = await asgardJson<unknown[]>("keys", "list");
    expect(Array.isArray(keys)).toBe(true);
    // jobs logs --follow on an ended job: NDJSON lines, then the job.
    const follow = await asgard("jobs", "logs", modelJobId, "--follow", "-o", "json");
    expect(follow.code, follow.stderr).toBe(0);
    const records = follow.stdout.trim().split("\n").map((l) => JSON.parse(l) as { text?: string; status?: string });
    expect(records.some((r) => r.text === "loading data")).toBe(true);
    expect(records.at(-1)?.status).toBe("completed");
  }, 120_000);

  it("errors say what to do, without a stack trace", async () => {
    const missing = await asgard("jobs", "show", "no-such-job");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/HTTP 404/);
    const invalid = await asgard("train", "train.py", "-r", "--index-url=http://evil", "--experiment", "e", "--model", "m");
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/HTTP 422/);
    expect(invalid.stderr).toMatch(/requirements/);
    const down = await start(["status"], { ASGARD_URL: "http://127.0.0.1:9" }).done;
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("npm start");
    const usage = await asgard("predict", model);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--json BODY or --csv FILE/);
    for (const r of [missing, invalid, down, usage]) expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);

  it("Ctrl-C without a terminal stops following and leaves the job running; jobs cancel ends it and a follower exits 3", async () => {
    const follow = start(["train", "sleeping.py", "--experiment", `cli-sleep-${rand()}`, "--model", `cli-sleep-${rand()}`, "--timeout", "900", "--follow"]);
    await follow.waitFor(/sleeping/);
    follow.signal("SIGINT");
    const stopped = await follow.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain("goes on");
    const id = jobIdIn(stopped.stderr)!;
    expect((await api<{ status: string }>(`/mlops/training/jobs/${id}`)).status).toBe("running");
    const again = start(["jobs", "logs", id, "--follow"]);
    await again.waitFor(/sleeping/);
    const cancel = await asgard("jobs", "cancel", id);
    expect(cancel.code, cancel.stderr).toBe(0);
    const ended = await again.done;
    expect(ended.code).toBe(3);
    expect(ended.stderr).toMatch(/cancelled/);
  }, 600_000);

  it("on a terminal: a status line with the phase, Ctrl-C asks and cancels; tables with colours unless NO_COLOR", async () => {
    const follow = onTerminal(["train", "sleeping.py", "--experiment", `cli-tty-${rand()}`, "--model", `cli-tty-${rand()}`, "--follow"]);
    await follow.waitFor(/sleeping/);
    // The elapsed time reads 12s, 3m 05s, …
    await follow.waitFor(/running · [\dhm ]+s · job /);
    follow.type("\x03");
    await follow.waitFor(/Cancel job \S+\? \[y\/N\]/);
    follow.type("y\r");
    await follow.waitFor(/Cancellation requested/);
    const ended = await follow.done;
    expect(ended.code, ended.stdout).toBe(3);
    expect(ended.stdout).toContain("\r\x1b[2K");
    expect(ended.stdout).toMatch(/job \S+ cancelled/);

    const coloured = await onTerminal(["jobs", "ls", "--limit", "3"]).done;
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toMatch(/JOB\s+STATUS\s+EXPERIMENT/);
    expect(coloured.stdout).toContain("\x1b[");
    const plain = await onTerminal(["jobs", "ls", "--limit", "3"], { NO_COLOR: "1" }).done;
    expect(plain.stdout).toMatch(/JOB\s+STATUS\s+EXPERIMENT/);
    expect(plain.stdout).not.toContain("\x1b[");
  }, 600_000);

  it("the packed tarball has no dependencies, installs with npm install -g and runs", async () => {
    const out = await mkdtemp(join(infra.workDir, "cli-pack-"));
    try {
      const built = await run(process.execPath, ["--import", "tsx", join(CLI, "scripts/build.ts"), "--pack", "--out", out], { cwd: CLI });
      const tarball = built.stdout.trim().split("\n").pop()!;
      const manifest = JSON.parse(await readFile(join(out, "package", "package.json"), "utf8")) as Record<string, unknown>;
      expect(manifest.dependencies).toBeUndefined();
      expect(JSON.stringify(manifest)).not.toContain("workspace:");
      const prefix = join(out, "prefix");
      await run("npm", ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", tarball], { cwd: out });
      const installed = join(prefix, "bin", "asgard");
      const help = await run(installed, ["--help"]);
      expect(help.stdout).toContain("Usage: asgard");
      expect(help.stdout).toMatch(/train \[options\] <file>/);
      const models = await start(["models", "ls", "-o", "json"], {}, installed).done;
      expect(models.code, models.stderr).toBe(0);
      expect((JSON.parse(models.stdout) as { name: string }[]).map((m) => m.name)).toContain(model);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 300_000);

  it("with keys on: no key is a 401 saying to set ASGARD_API_KEY; the key made by keys create works", async () => {
    const made = await asgardJson<{ key: string; id: string; scopes: string[] }>("keys", "create", "--admin", "--name", "cli-e2e");
    expect(made.scopes).toEqual(["admin"]);
    // Gateways follow the key bucket: the first refusal may take a moment to appear.
    let refused: Result | undefined;
    for (let i = 0; i < 50; i++) {
      refused = await asgard("models", "ls");
      if (refused.code !== 0) break;
    }
    expect(refused!.code).toBe(1);
    expect(refused!.stderr).toMatch(/HTTP 401/);
    expect(refused!.stderr).toContain("ASGARD_API_KEY");
    apiKey = made.key;
    const models = await asgardJson<{ name: string }[]>("models", "ls");
    expect(models.map((m) => m.name)).toContain(model);
    const keys = await asgardJson<{ id: string; state: string }[]>("keys", "list");
    expect(keys).toContainEqual(expect.objectContaining({ id: made.id, state: "active" }));
  }, 120_000);
});
