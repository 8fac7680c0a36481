import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, UploadResponseSchema } from "@asgard/contracts";
import { SEED_BODIES, b64, validBody } from "./bodies.js";
import { startTrainingStack, type TrainingStack } from "./stack.js";

const RUNS = 1_200;
// A fresh seed per run explores new bodies each time; printed so a failure can be replayed
// (fast-check's report of a failure prints seed and path too).
const seed = Date.now() ^ (Math.random() * 0x7fffffff);
console.info(`upload fuzz: fast-check seed ${seed}`);

const FIELDS = ["script_name", "script_content", "experiment_name", "model_name", "requirements", "environment_vars", "timeout", "tags"] as const;

const tricky = fc.constantFrom(
  "",
  " ",
  "..",
  "../x",
  "a/b",
  "\u0000",
  "__proto__",
  "constructor",
  "mlflow.x",
  "PATH",
  "-r /etc/passwd",
  "x @ file:///etc",
  "$HOME",
  "\ud800",
  "é",
  "=",
  "====",
);

const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string(),
  fc.string({ unit: "binary", maxLength: 30 }),
  tricky,
  fc.integer({ min: -10, max: 5000 }),
  fc.double(),
  fc.string({ unit: "binary", maxLength: 80 }).map(b64),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString("base64")),
  fc.array(fc.oneof(tricky, fc.constantFrom("scikit-learn", "pandas>=2", "numpy==2.1.*"), fc.string()), { maxLength: 4 }),
  fc.dictionary(fc.oneof(tricky, fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), fc.string()), fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })), { maxKeys: 4 }),
);

/** A valid body with fields dropped, replaced or added. */
const mutatedBody = fc
  .record({
    base: fc.constantFrom<Record<string, unknown>>(validBody(), { ...SEED_BODIES.uploadData }, { ...SEED_BODIES.reportRequest }),
    drop: fc.subarray([...FIELDS]),
    set: fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 12 }), fc.constant("__proto__")), fieldValue, { maxKeys: 3 }),
  })
  .map(({ base, drop, set }) => {
    const entries = Object.entries(base).filter(([k]) => !drop.includes(k as (typeof FIELDS)[number]));
    // fromEntries keeps a "__proto__" key as data, as JSON.parse would.
    return Object.fromEntries([...entries, ...Object.entries(set)]);
  });

/** Bodies that are mostly valid, so that many reach the job-scheduler. */
const plausibleBody = fc
  .record(
    {
      script_name: fc.oneof(fc.constantFrom("train.py", "train", "run_é.py"), fc.stringMatching(/^[a-z][a-z0-9_]{0,12}(\.py)?$/)),
      script_content: fc.string({ minLength: 1, maxLength: 200, unit: "grapheme" }).map(b64),
      experiment_name: fc.stringMatching(/^[a-z][a-z0-9 _-]{0,20}$/),
      model_name: fc.stringMatching(/^[a-z][a-z0-9_-]{0,20}$/),
      requirements: fc.oneof(fc.constant(null), fc.subarray(["scikit-learn", "pandas>=2", "numpy==2.1.*", "torch[cpu]~=2.4", "requests; python_version >= \"3.10\""])),
      environment_vars: fc.oneof(fc.constant(null), fc.dictionary(fc.stringMatching(/^DATA_[A-Z0-9_]{0,6}$/), fc.string({ maxLength: 40 }), { maxKeys: 4 })),
      timeout: fc.oneof(fc.constant(null), fc.integer({ min: 60, max: 3600 })),
      tags: fc.oneof(fc.constant(null), fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/), fc.string({ maxLength: 40 }), { maxKeys: 4 })),
      note: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ["script_name", "script_content", "experiment_name", "model_name"] },
  );

const payload = fc.oneof(
  { weight: 4, arbitrary: plausibleBody.map((b) => JSON.stringify(b)) },
  { weight: 4, arbitrary: mutatedBody.map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string() },
);

/** Header values HTTP can carry (Latin-1 without control characters). */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 300 });

const idempotencyKey = fc.option(
  fc.oneof({ weight: 3, arbitrary: fc.uuid() }, { weight: 1, arbitrary: headerText }, { weight: 1, arbitrary: fc.constantFrom("", "a b", "fuzz-key") }),
  { nil: undefined },
);
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom<string | undefined>("application/json", "application/json; charset=utf-8") },
  { weight: 2, arbitrary: fc.constantFrom<string | undefined>(undefined, "text/plain", "application/x-www-form-urlencoded", "application/problem+json") },
);

describe("POST /mlops/training/upload never fails on any body (fast-check, real NATS and job-scheduler)", () => {
  let stack: TrainingStack;
  let app: FastifyInstance;

  beforeAll(async () => {
    stack = await startTrainingStack("gw-fuzz");
    app = stack.gateway.app;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it(`answers ${RUNS} random bodies and headers with a 202 job or a JSON 4xx naming the problem`, { timeout: 300_000 }, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(payload, idempotencyKey, contentType, async (body, key, type) => {
        const headers: Record<string, string> = {};
        if (type !== undefined) headers["content-type"] = type;
        if (key !== undefined) headers["idempotency-key"] = key;
        const res = await app.inject({ method: "POST", url: "/mlops/training/upload", payload: body, headers });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, res.body).toBeLessThan(500);
        expect(res.headers["content-type"]).toMatch(/^application\/json/);
        const json: unknown = res.json();
        if (res.statusCode === 202) {
          const job = UploadResponseSchema.parse(json);
          expect(job.status).toBe("queued");
          return;
        }
        expect([400, 409, 413, 415, 422]).toContain(res.statusCode);
        const error = ErrorBodySchema.parse(json);
        expect(error.message.trim().length).toBeGreaterThan(0);
        for (const issue of error.issues ?? []) {
          expect(issue.field.length).toBeGreaterThan(0);
          expect(issue.message.trim().length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS, seed },
    );
    console.info(`upload fuzz: answers by status ${JSON.stringify(Object.fromEntries(statuses))}`);
    // The generators must reach the scheduler often enough to mean something.
    expect(statuses.get(202) ?? 0).toBeGreaterThan(RUNS / 20);
  });
});
