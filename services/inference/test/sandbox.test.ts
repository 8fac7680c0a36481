import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loggedModelWithFiles, registerVersion, startStack, unique, type Stack } from "./support.js";

const REASON = "bubblewrap not installed: apt-get install bubblewrap";

/**
 * Fails closed: on a host where model workers cannot be sandboxed the service still answers,
 * but loads no model (a model is untrusted code), and each prediction says why.
 */
describe("inference without a working sandbox", () => {
  let stack: Stack;
  let model = "";

  beforeAll(async () => {
    stack = await startStack("inference-no-sandbox", { warmOnRegister: false }, {
      checkSandbox: async () => ({
        available: false,
        bwrapPath: null,
        reason: REASON,
        cgroups: { available: false, version: null, reason: "no sandbox" },
        internet: { available: false, reason: "no sandbox" },
      }),
    });
    model = unique("unsandboxable");
    const logged = await loggedModelWithFiles(stack.mlflow, stack.experimentId, { MLmodel: "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n" });
    await registerVersion(stack.mlflow, model, logged);
  }, 300_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("answers 503 naming what is missing, and starts no worker", async () => {
    const res = await stack.post("/mlops/inference", { model_name: model, inputs: { x: [1] } });
    expect(res.statusCode, res.body).toBe(503);
    const body = res.json<{ error: string; message: string }>();
    expect(body.error).toBe("UNAVAILABLE");
    expect(body.message).toContain("cannot be sandboxed");
    expect(body.message).toContain(REASON);
    const stats = await stack.inference.stats();
    expect(stats.loads).toBe(0);
    expect(stats.loaded).toEqual([]);
  });

  it("the explicit development opt-out (process-group) does not ask the sandbox at all", async () => {
    let asked = false;
    const dev = await startStack("inference-process-group", { warmOnRegister: false, sandbox: { mode: "process-group", uid: 65534, gid: 65534, limits: {} } }, {
      checkSandbox: async () => {
        asked = true;
        throw new Error("not to be called");
      },
    });
    await dev.close();
    expect(asked).toBe(false);
  }, 300_000);
});
