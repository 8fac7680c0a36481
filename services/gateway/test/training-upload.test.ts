import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, JobSchema, UploadResponseSchema } from "@asgard/contracts";
import { IDEMPOTENT_REPLAYED_HEADER } from "../src/routes/training-upload.js";
import { SEED_SCRIPT } from "@asgard/test-support";
import { SEED_BODIES, b64, validBody } from "./bodies.js";
import { startGateway, startTrainingStack, type TrainingStack } from "./stack.js";

function post(app: FastifyInstance, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: "POST", url: "/mlops/training/upload", payload: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });
}

/** A refusal: the status, a JSON error body with a message, and an issue about `field` that the message repeats. */
function expectRefusal(res: LightMyRequestResponse, status: number, field: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers["content-type"]).toMatch(/application\/json/);
  const body = ErrorBodySchema.parse(res.json());
  expect(body.message.length).toBeGreaterThan(0);
  expect(body.issues?.map((i) => i.field), res.body).toContain(field);
  expect(body.message).toContain(field);
}

describe("POST /mlops/training/upload (real NATS and job-scheduler)", () => {
  let stack: TrainingStack;
  let app: FastifyInstance;

  beforeAll(async () => {
    stack = await startTrainingStack("gw-upload");
    app = stack.gateway.app;
  });
  afterAll(async () => {
    await stack?.close();
  });

  describe("the seed report's bodies", () => {
    it.each(Object.entries(SEED_BODIES))("accepts %s with 202 in the original's shape, and GET finds it at once", async (_name, seedBody) => {
      const res = await post(app, seedBody);
      expect(res.statusCode, res.body).toBe(202);
      const job = UploadResponseSchema.parse(res.json());
      expect(job).toMatchObject({
        script_name: seedBody.script_name,
        experiment_name: seedBody.experiment_name,
        model_name: seedBody.model_name,
        status: "queued",
        run_id: null,
        model_version: null,
        error: null,
        started_at: null,
        completed_at: null,
        requirements: seedBody.requirements,
        timeout: 300,
        warnings: [],
      });
      expect(job.job_id.length).toBeGreaterThan(0);
      expect(Number.isNaN(Date.parse(job.created_at))).toBe(false);
      if ("tags" in seedBody) expect(job.tags).toEqual(seedBody.tags);
      // Environment variable values may hold credentials: never echoed.
      expect(res.body).not.toContain("/data");

      const got = await app.inject(`/mlops/training/jobs/${encodeURIComponent(job.job_id)}`);
      expect(got.statusCode, got.body).toBe(200);
      const stored = JobSchema.parse(got.json());
      const { warnings: _warnings, ...asUploaded } = job;
      expect(stored).toMatchObject({ ...asUploaded, logs: stored.logs });
    });

    it('accepts the stem "train" without .py, as the original client sends it', async () => {
      const res = await post(app, { ...SEED_BODIES.completeExample, script_name: "train" });
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json()).toMatchObject({ script_name: "train", status: "queued" });
    });

    it("ignores an unknown field, names it in warnings and never stores it", async () => {
      const res = await post(app, { ...SEED_BODIES.uploadData, priority: "high", gpu: true });
      expect(res.statusCode, res.body).toBe(202);
      const job = UploadResponseSchema.parse(res.json());
      expect(job.warnings).toEqual(["unknown field `priority` was ignored", "unknown field `gpu` was ignored"]);
      const got = await app.inject(`/mlops/training/jobs/${job.job_id}`);
      expect(got.json()).not.toHaveProperty("priority");
      expect(got.json()).not.toHaveProperty("gpu");
    });

    it("fills the original's defaults when optional fields are omitted or null", async () => {
      const res = await post(app, validBody({ requirements: null, environment_vars: null, tags: null, timeout: null }));
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json()).toMatchObject({ requirements: [], tags: {}, timeout: 300 });
    });

    it("reads a body without Content-Type as JSON, as the original API did", async () => {
      const res = await app.inject({ method: "POST", url: "/mlops/training/upload", payload: JSON.stringify(validBody()) });
      expect(res.statusCode, res.body).toBe(202);
      const charset = await post(app, validBody(), { "content-type": "application/json; charset=utf-8" });
      expect(charset.statusCode, charset.body).toBe(202);
    });
  });

  describe("Idempotency-Key", () => {
    it("returns the same job for the same key and body, marked as a replay", async () => {
      const key = `same-${Date.now()}`;
      const first = await post(app, SEED_BODIES.uploadData, { "idempotency-key": key });
      expect(first.statusCode, first.body).toBe(202);
      expect(first.headers[IDEMPOTENT_REPLAYED_HEADER]).toBeUndefined();
      const again = await post(app, SEED_BODIES.uploadData, { "idempotency-key": key });
      expect(again.statusCode, again.body).toBe(202);
      expect(again.json().job_id).toBe(first.json().job_id);
      expect(again.headers[IDEMPOTENT_REPLAYED_HEADER]).toBe("true");
      // The hash is of the parsed request: field order and ignored fields do not make it another body.
      const reordered = Object.fromEntries(Object.entries(SEED_BODIES.uploadData).reverse());
      const third = await post(app, { ...reordered, unknown_extra: 1 }, { "idempotency-key": key });
      expect(third.statusCode, third.body).toBe(202);
      expect(third.json().job_id).toBe(first.json().job_id);
      expect(third.json().warnings).toEqual(["unknown field `unknown_extra` was ignored"]);
    });

    it("answers 409 for the same key with another body", async () => {
      const key = `other-${Date.now()}`;
      expect((await post(app, validBody(), { "idempotency-key": key })).statusCode).toBe(202);
      const res = await post(app, validBody({ timeout: 600 }), { "idempotency-key": key });
      expect(res.statusCode, res.body).toBe(409);
      expect(ErrorBodySchema.parse(res.json()).error).toBe("CONFLICT");
    });

    it("gives one job to two gateway instances racing with one key", async () => {
      const second = await startGateway(stack.nats.url, "gw-upload-second");
      try {
        const key = `race-${Date.now()}`;
        const [a, b] = await Promise.all([
          post(app, SEED_BODIES.reportRequest, { "idempotency-key": key }),
          post(second.app, SEED_BODIES.reportRequest, { "idempotency-key": key }),
        ]);
        expect(a.statusCode, a.body).toBe(202);
        expect(b.statusCode, b.body).toBe(202);
        expect(a.json().job_id).toBe(b.json().job_id);
        const got = await second.app.inject(`/mlops/training/jobs/${a.json().job_id}`);
        expect(got.statusCode).toBe(200);
      } finally {
        await second.close();
      }
    });

    it.each([
      ["empty", ""],
      ["with a space", "has space"],
      ["too long", "k".repeat(256)],
      ["non-ASCII", "cl\u00e9"],
    ])("refuses a key that is %s with 422 naming the header", async (_what, key) => {
      const res = await post(app, validBody(), { "idempotency-key": key });
      expectRefusal(res, 422, "Idempotency-Key");
    });
  });

  describe("refusals name the field and say what to send", () => {
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ["a path as script_name", { script_name: "../x" }, 422, "script_name"],
      ["a nested path as script_name", { script_name: "a/b.py" }, 422, "script_name"],
      ["a number as script_name", { script_name: 5 }, 422, "script_name"],
      ["bad base64", { script_content: "print('hi')" }, 422, "script_content"],
      ["base64url", { script_content: "a-b_" }, 422, "script_content"],
      ["base64 without padding", { script_content: "cHJpbnQoMSk" }, 422, "script_content"],
      ["a script that is not UTF-8", { script_content: Buffer.from([0xff, 0xfe, 0xfd, 0x41]).toString("base64") }, 422, "script_content"],
      ["an empty script", { script_content: "" }, 422, "script_content"],
      ["a script of only whitespace", { script_content: b64("  \n\t\n") }, 422, "script_content"],
      ["a script over 512 KiB", { script_content: b64("#".repeat(512 * 1024 + 1)) }, 413, "script_content"],
      ["a pip option (-r)", { requirements: ["-r /etc/hostname"] }, 422, "requirements.0"],
      ["an index URL option", { requirements: ["numpy", "--index-url https://evil.example/simple"] }, 422, "requirements.1"],
      ["a URL requirement", { requirements: ["https://example.com/pkg-1.0-py3-none-any.whl"] }, 422, "requirements.0"],
      ["a direct file reference", { requirements: ["pkg @ file:///etc"] }, 422, "requirements.0"],
      ["a path requirement", { requirements: ["./vendor/pkg"] }, 422, "requirements.0"],
      ["an environment variable in a requirement", { requirements: ["$VAR"] }, 422, "requirements.0"],
      ["a requirement with a line break", { requirements: ["numpy\n--extra-index-url x"] }, 422, "requirements.0"],
      ["a string instead of a list of requirements", { requirements: "scikit-learn" }, 422, "requirements"],
      ["PATH", { environment_vars: { PATH: "/tmp" } }, 422, "environment_vars.PATH"],
      ["HOME", { environment_vars: { HOME: "/tmp" } }, 422, "environment_vars.HOME"],
      ["an MLFLOW_ variable", { environment_vars: { MLFLOW_X: "1" } }, 422, "environment_vars.MLFLOW_X"],
      ["MLFLOW_TRACKING_URI", { environment_vars: { MLFLOW_TRACKING_URI: "http://evil" } }, 422, "environment_vars.MLFLOW_TRACKING_URI"],
      ["PYTHONPATH", { environment_vars: { PYTHONPATH: "/tmp" } }, 422, "environment_vars.PYTHONPATH"],
      ["LD_PRELOAD", { environment_vars: { LD_PRELOAD: "/tmp/x.so" } }, 422, "environment_vars.LD_PRELOAD"],
      ["a PIP_ variable", { environment_vars: { PIP_INDEX_URL: "https://evil" } }, 422, "environment_vars.PIP_INDEX_URL"],
      ["a UV_ variable", { environment_vars: { UV_INDEX_URL: "https://evil" } }, 422, "environment_vars.UV_INDEX_URL"],
      ["VIRTUAL_ENV", { environment_vars: { VIRTUAL_ENV: "/x" } }, 422, "environment_vars.VIRTUAL_ENV"],
      ["EXPERIMENT_NAME", { environment_vars: { EXPERIMENT_NAME: "x" } }, 422, "environment_vars.EXPERIMENT_NAME"],
      ["MODEL_NAME", { environment_vars: { MODEL_NAME: "x" } }, 422, "environment_vars.MODEL_NAME"],
      ["a lowercase variable name", { environment_vars: { data_path: "/data" } }, 422, "environment_vars.data_path"],
      ["a name starting with a digit", { environment_vars: { "1X": "1" } }, 422, "environment_vars.1X"],
      ["a number as variable value", { environment_vars: { DATA_SIZE: 5 } }, 422, "environment_vars.DATA_SIZE"],
      ["a list instead of variables", { environment_vars: ["DATA_PATH=/data"] }, 422, "environment_vars"],
      ["timeout 59", { timeout: 59 }, 422, "timeout"],
      ["timeout 3601", { timeout: 3601 }, 422, "timeout"],
      ['timeout "300"', { timeout: "300" }, 422, "timeout"],
      ["timeout 300.5", { timeout: 300.5 }, 422, "timeout"],
      ["a negative timeout", { timeout: -1 }, 422, "timeout"],
      ["a boolean timeout", { timeout: true }, 422, "timeout"],
      ["a reserved tag key", { tags: { "mlflow.x": "1" } }, 422, "tags.mlflow.x"],
      ["a number as tag value", { tags: { version: 1 } }, 422, "tags.version"],
      ["a list as tags", { tags: ["v1"] }, 422, "tags"],
      ["null as experiment_name", { experiment_name: null }, 422, "experiment_name"],
      ["a list as model_name", { model_name: ["m"] }, 422, "model_name"],
      ["a model name with a slash", { model_name: "team/model" }, 422, "model_name"],
      ["a blank model name", { model_name: "  " }, 422, "model_name"],
    ];

    it.each(cases)("refuses %s", async (_what, overrides, status, field) => {
      expectRefusal(await post(app, validBody(overrides)), status, field);
    });

    it("names every missing required field at once", async () => {
      const res = await post(app, {});
      expect(res.statusCode).toBe(422);
      const fields = ErrorBodySchema.parse(res.json()).issues?.map((i) => i.field);
      expect(fields).toEqual(expect.arrayContaining(["script_name", "script_content", "experiment_name", "model_name"]));
    });

    it("answers 413 naming environment_vars when the job would not fit one NATS message", async () => {
      const environment_vars = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`BIG_${i}`, "v".repeat(30 * 1024)]));
      const res = await post(app, validBody({ environment_vars }));
      expectRefusal(res, 413, "environment_vars");
      expect(res.json().error).toBe("PAYLOAD_TOO_LARGE");
    });

    it("answers 400 for a JSON value that is not an object", async () => {
      for (const body of [[SEED_BODIES.uploadData], "train.py", 42, null]) {
        const res = await post(app, body);
        expect(res.statusCode, res.body).toBe(400);
        expect(ErrorBodySchema.parse(res.json()).message).toMatch(/JSON object/);
      }
    });

    it("answers 400 for invalid or empty JSON, saying to send application/json", async () => {
      for (const payload of ['{"script_name": "train.py",', "", '{"__proto__": {"x": 1}}']) {
        const res = await app.inject({ method: "POST", url: "/mlops/training/upload", payload, headers: { "content-type": "application/json" } });
        expect(res.statusCode, res.body).toBe(400);
        expect(ErrorBodySchema.parse(res.json()).message).toMatch(/application\/json/);
      }
    });

    it("answers 415 for another content type, saying to send application/json", async () => {
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"]) {
        const res = await app.inject({ method: "POST", url: "/mlops/training/upload", payload: JSON.stringify(validBody()), headers: { "content-type": type } });
        expect(res.statusCode, `${type}: ${res.body}`).toBe(415);
        expect(ErrorBodySchema.parse(res.json()).message).toMatch(/application\/json/);
      }
    });

    it("answers 405 with Allow for another method on the upload path", async () => {
      const res = await app.inject("/mlops/training/upload");
      expect(res.statusCode).toBe(405);
      expect(res.headers.allow).toBe("POST");
    });
  });

  describe("configured limits", () => {
    it("follows a lowered minimum timeout and a smaller script limit", async () => {
      const gw = await startGateway(stack.nats.url, "gw-upload-limits", { uploadLimits: { minTimeoutSeconds: 1, maxScriptBytes: 1024 } });
      try {
        const quick = await post(gw.app, validBody({ timeout: 5 }));
        expect(quick.statusCode, quick.body).toBe(202);
        expect(quick.json().timeout).toBe(5);
        expectRefusal(await post(gw.app, validBody({ timeout: 0 })), 422, "timeout");
        expectRefusal(await post(gw.app, validBody({ script_content: b64("#".repeat(1025)) })), 413, "script_content");
      } finally {
        await gw.close();
      }
    });
  });

  it("counts accepted and rejected uploads by status", async () => {
    const text = await (await stack.gateway.app.inject("/metrics")).body;
    expect(text).toMatch(/asgard_gateway_training_uploads_total\{[^}]*result="accepted"[^}]*status="202"[^}]*\} [1-9]/);
    expect(text).toMatch(/asgard_gateway_training_uploads_total\{[^}]*result="rejected"[^}]*status="422"[^}]*\} [1-9]/);
    expect(text).toMatch(/asgard_gateway_training_uploads_total\{[^}]*result="rejected"[^}]*status="415"[^}]*\} [1-9]/);
  });

  it("answers 503 with Retry-After, quickly, while no job-scheduler serves (upload and GET)", async () => {
    const created = await post(app, validBody({ script_content: b64(SEED_SCRIPT) }));
    expect(created.statusCode).toBe(202);
    await stack.stopScheduler();
    try {
      const upload = await post(app, validBody());
      expect(upload.statusCode, upload.body).toBe(503);
      expect(Number(upload.headers["retry-after"])).toBeGreaterThan(0);
      expect(ErrorBodySchema.parse(upload.json()).error).toBe("UNAVAILABLE");
      const get = await app.inject(`/mlops/training/jobs/${created.json().job_id}`);
      expect(get.statusCode, get.body).toBe(503);
      expect(Number(get.headers["retry-after"])).toBeGreaterThan(0);
      const text = (await app.inject("/metrics")).body;
      expect(text).toMatch(/asgard_gateway_training_uploads_total\{[^}]*result="failed"[^}]*status="503"[^}]*\} 1/);
    } finally {
      await stack.startScheduler();
    }
    const back = await app.inject(`/mlops/training/jobs/${created.json().job_id}`);
    expect(back.statusCode).toBe(200);
  });
});
