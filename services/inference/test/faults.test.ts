import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteError } from "@asgard/bus";
import { DEFAULT_TENANT, RPC, type ErrorBody, type InferenceResponse } from "@asgard/contracts";
import { TRAIN_PYFUNC } from "./fixtures.js";
import { COLD_START_MS, eventually, loggedModelWithFiles, registerVersion, runTrainingScript, startStack, unique, type LoggedFixture, type Stack } from "./support.js";

const ROW = { x: [4], sleep: [0], crash: [0] };
const BACKOFF_MS = 1_500;

/** An MLmodel whose pyfunc loader is a module that does not exist: the worker's load fails. */
const MISSING_LOADER = `artifact_path: model
flavors:
  python_function:
    loader_module: asgard_module_that_does_not_exist
    python_version: 3.11.7
mlflow_version: 3.17.2
`;

/** A pyfunc model whose loader takes seconds, so a request can be waiting while it loads. */
const SLOW_LOADER = `artifact_path: model
flavors:
  python_function:
    loader_module: asgard_slow_loader
    code: code
    python_version: 3.11.7
mlflow_version: 3.17.2
`;
const SLOW_LOADER_MODULE = `import time


class Tripler:
    def predict(self, model_input, params=None):
        return model_input["x"] * 3


def _load_pyfunc(path):
    time.sleep(6)
    return Tripler()
`;

/** A worker's load (a sandbox, then importing MLflow and the model) can take minutes on a busy machine. */
const LOAD_TIMEOUT_MS = 10 * 60_000;
const LOAD_POLLS = LOAD_TIMEOUT_MS / 100;

describe("inference faults: worker crashes, models that cannot load, warm-up and the memory budget", { timeout: LOAD_TIMEOUT_MS }, () => {
  let stack: Stack;
  let doubler: LoggedFixture;
  const model = unique("doubler");
  let version = "";

  const infer = async (body: Record<string, unknown>) => {
    const res = await stack.post("/mlops/inference", body);
    return { status: res.statusCode, headers: res.headers, body: res.json<InferenceResponse & ErrorBody>() };
  };
  const workerPid = async (name: string, v: string) => (await stack.inference.stats()).loaded.find((m) => m.name === name && m.version === v)?.pid;

  beforeAll(async () => {
    stack = await startStack("inference-faults", { loadBackoffMs: BACKOFF_MS, maxLoadBackoffMs: BACKOFF_MS * 4 });
    doubler = ((await runTrainingScript(stack.pyenv, TRAIN_PYFUNC, { EXPERIMENT: unique("inference-faults") })) as { pyfunc: LoggedFixture }).pyfunc;
    version = await registerVersion(stack.mlflow, model, doubler);
    const first = await stack.postWhenLoaded("/mlops/inference", { model_name: model, inputs: doubler.probe });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json<InferenceResponse>().predictions).toEqual(doubler.predictions);
  }, COLD_START_MS);
  afterAll(async () => {
    await stack?.close();
  });

  it("replaces a worker killed mid-request and retries the request once on the new one", async () => {
    const before = await stack.inference.stats();
    const pid = await workerPid(model, version);
    expect(pid).toBeGreaterThan(0);
    const slow = infer({ model_name: model, inputs: { x: [5], sleep: [1.5], crash: [0] } });
    // Wait until the batch is inside the worker, then kill the worker's sandbox (it takes everything in it along).
    await new Promise((r) => setTimeout(r, 500));
    process.kill(pid as number, "SIGKILL");
    const res = await slow;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.predictions).toEqual([10]);
    const after = await stack.inference.stats();
    expect(after.crashes).toBe(before.crashes + 1);
    expect(after.loads).toBe(before.loads + 1);
    expect(await workerPid(model, version)).not.toBe(pid);
  });

  it("answers a retryable 503 when the request kills the worker twice, and serves the next one", async () => {
    const before = await stack.inference.stats();
    const res = await infer({ model_name: model, inputs: { x: [1], sleep: [0], crash: [1] } });
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBeDefined();
    expect(res.body.error).toBe("UNAVAILABLE");
    expect(res.body.message).toMatch(/ended twice while predicting/);
    const next = await infer({ model_name: model, inputs: ROW });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(next.body.predictions).toEqual([8]);
    expect((await stack.inference.stats()).crashes).toBeGreaterThanOrEqual(before.crashes + 2);
  });

  it("replaces a worker that dies while idle before the next request needs it", async () => {
    const before = await stack.inference.stats();
    const pid = await workerPid(model, version);
    process.kill(pid as number, "SIGKILL");
    await eventually(() => workerPid(model, version), (p) => p !== undefined && p !== pid, LOAD_POLLS);
    const loaded = await stack.inference.stats();
    expect(loaded.loads).toBe(before.loads + 1);
    const res = await infer({ model_name: model, inputs: ROW });
    expect(res.status).toBe(200);
    expect((await stack.inference.stats()).loads).toBe(loaded.loads);
  });

  it("answers 503 with the reason for a model that cannot be loaded, and tries again only after a backoff", async () => {
    const name = unique("unsafe-requirements");
    const logged = await loggedModelWithFiles(stack.mlflow, stack.experimentId, {
      MLmodel: MISSING_LOADER,
      "requirements.txt": "numpy\nevil @ https://example.com/evil.whl\n",
    });
    await registerVersion(stack.mlflow, name, logged);
    const before = await stack.inference.stats();
    const first = await infer({ model_name: name, inputs: ROW });
    expect(first.status).toBe(503);
    expect(first.body.message).toMatch(/cannot be loaded: the model's requirements cannot be installed safely: requirements.txt line 2 .*URLs/);
    expect((await stack.inference.stats()).loadFailures).toBe(before.loadFailures + 1);

    // Within the backoff: the same reason, and no new attempt.
    const again = await infer({ model_name: name, inputs: ROW });
    expect(again.status).toBe(503);
    expect(again.body.message).toMatch(/tried again in \d+ s/);
    expect((await stack.inference.stats()).loadFailures).toBe(before.loadFailures + 1);

    // After it: a new attempt (which fails the same way).
    await new Promise((r) => setTimeout(r, BACKOFF_MS + 200));
    const later = await infer({ model_name: name, inputs: ROW });
    expect(later.status).toBe(503);
    expect((await stack.inference.stats()).loadFailures).toBe(before.loadFailures + 2);
  });

  it("reports the worker's own load error (a missing loader module) as a 503", async () => {
    const name = unique("missing-loader");
    const logged = await loggedModelWithFiles(stack.mlflow, stack.experimentId, { MLmodel: MISSING_LOADER, "requirements.txt": "" });
    await registerVersion(stack.mlflow, name, logged);
    const res = await infer({ model_name: name, inputs: ROW });
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/No module named 'asgard_module_that_does_not_exist'/);
    // Building this model's environment (MLflow alone) may take minutes on a busy machine.
  }, 180_000);

  it("answers a request still waiting for its model before the caller stops waiting, and the load goes on", async () => {
    const name = unique("slow-loader");
    const logged = await loggedModelWithFiles(stack.mlflow, stack.experimentId, {
      MLmodel: SLOW_LOADER,
      "requirements.txt": "",
      "code/asgard_slow_loader.py": SLOW_LOADER_MODULE,
    });
    await registerVersion(stack.mlflow, name, logged);
    const before = await stack.inference.stats();
    const request = { tenant: DEFAULT_TENANT, model_name: name, model_ref: { kind: "latest" as const }, inputs: { x: [4] }, return_probabilities: false };
    // The caller waits 3 s; the load takes longer (6 s in the loader alone), so the service answers first.
    const err = await stack.bus.request(RPC.predict, request, { timeoutMs: 3_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: "UNAVAILABLE" });
    // The message names the wait left when the service answered: on a busy machine a few ms less than 3000.
    expect((err as Error).message).toMatch(/no answer within the (29\d\d|3000) ms the caller waits \(loading the model.*\); retry shortly/);
    // The load was not abandoned with the request: a client that retries is served by it.
    const served = await stack.postWhenLoaded("/mlops/inference", { model_name: name, inputs: { x: [4] } });
    expect(served.statusCode, served.body).toBe(200);
    expect(served.json<InferenceResponse>().predictions).toEqual([12]);
    const after = await stack.inference.stats();
    expect(after.loadFailures).toBe(before.loadFailures);
    expect(after.loads).toBe(before.loads + 1);
  }, COLD_START_MS);

  it("warms a version when model.registered arrives: its first request does not load", async () => {
    const v2 = await registerVersion(stack.mlflow, model, doubler);
    const before = await stack.inference.stats();
    await stack.announceRegistered(model, v2);
    await eventually(() => workerPid(model, v2), (pid) => pid !== undefined, LOAD_POLLS);
    const warmed = await stack.inference.stats();
    expect(warmed.loads).toBe(before.loads + 1);
    // The first request for the new version — by number and as latest — finds it loaded.
    const byNumber = await infer({ model_name: model, model_version: v2, inputs: ROW });
    const latest = await infer({ model_name: model, inputs: ROW });
    expect(byNumber.status).toBe(200);
    expect(latest.body.model_version).toBe(v2);
    expect((await stack.inference.stats()).loads).toBe(warmed.loads);
  });

  it("warms the target of an alias move", async () => {
    const v3 = await registerVersion(stack.mlflow, model, doubler);
    await stack.mlflow.setAlias(model, "canary", v3);
    const before = await stack.inference.stats();
    await stack.announceAlias(model, "canary", v3, null);
    await eventually(() => workerPid(model, v3), (pid) => pid !== undefined, LOAD_POLLS);
    const res = await infer({ model_name: model, model_version: "@canary", inputs: ROW });
    expect(res.body.model_version).toBe(v3);
    expect((await stack.inference.stats()).loads).toBe(before.loads + 1);
  });
});

describe("inference memory budget", { timeout: LOAD_TIMEOUT_MS }, () => {
  let stack: Stack;
  let doubler: LoggedFixture;
  const model = unique("budget");

  beforeAll(async () => {
    // A budget below one worker: loading a second model unloads the least recently used one.
    stack = await startStack("inference-budget", { memoryBudgetBytes: 1, warmOnRegister: false });
    doubler = ((await runTrainingScript(stack.pyenv, TRAIN_PYFUNC, { EXPERIMENT: unique("inference-budget") })) as { pyfunc: LoggedFixture }).pyfunc;
    await registerVersion(stack.mlflow, model, doubler);
    await registerVersion(stack.mlflow, model, doubler);
    // Builds the model's environment (both versions share it) before the test counts loads.
    const first = await stack.postWhenLoaded("/mlops/inference", { model_name: model, model_version: "1", inputs: ROW });
    expect(first.statusCode, first.body).toBe(200);
  }, COLD_START_MS);
  afterAll(async () => {
    await stack?.close();
  });

  it("unloads the least recently used model beyond the budget and loads it again when asked", async () => {
    const one = await stack.post("/mlops/inference", { model_name: model, model_version: "1", inputs: ROW });
    expect(one.statusCode, one.body).toBe(200);
    const two = await stack.post("/mlops/inference", { model_name: model, model_version: "2", inputs: ROW });
    expect(two.statusCode, two.body).toBe(200);
    const afterTwo = await eventually(() => stack.inference.stats(), (s) => s.evictions === 1);
    expect(afterTwo.loaded.map((m) => m.version)).toEqual(["2"]);
    expect(afterTwo.loads).toBe(2);
    const again = await stack.post("/mlops/inference", { model_name: model, model_version: "1", inputs: ROW });
    expect(again.statusCode).toBe(200);
    const final = await eventually(() => stack.inference.stats(), (s) => s.evictions === 2);
    expect(final.loads).toBe(3);
    expect(final.loaded.map((m) => m.version)).toEqual(["1"]);
  });
});
