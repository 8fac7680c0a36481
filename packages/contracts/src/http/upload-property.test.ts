import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkRequirement } from "./pep508.js";
import { parseUploadRequest, reservedEnvVarRule, type UploadParseResult } from "./training.js";
import { b64 } from "./test-helpers.js";

const RUNS = 1000;
// A fresh seed per run explores new bodies each time; it is printed so a failure can be replayed
// (fast-check's reporter also prints seed and path of the failing case).
const seed = Date.now() ^ (Math.random() * 0x7fffffff);
console.info(`upload property tests: fast-check seed ${seed}`);

/** What must hold for every answer, whatever the body. */
function assertWellFormed(result: UploadParseResult): void {
  if (result.ok) {
    const v = result.value;
    expect(Buffer.byteLength(v.script)).toBe(v.script_bytes);
    expect(v.script_bytes).toBeGreaterThan(0);
    expect(v.script_bytes).toBeLessThanOrEqual(512 * 1024);
    expect(Number.isInteger(v.timeout) && v.timeout >= 60 && v.timeout <= 3600).toBe(true);
    for (const r of v.requirements) expect(checkRequirement(r).ok).toBe(true);
    for (const [name, value] of Object.entries(v.environment_vars)) {
      expect(name).toMatch(/^[A-Z_][A-Z0-9_]*$/);
      expect(reservedEnvVarRule(name)).toBeNull();
      expect(typeof value).toBe("string");
    }
    for (const value of Object.values(v.tags)) expect(typeof value).toBe("string");
    for (const w of result.warnings) expect(w).toMatch(/^unknown field `.*` was ignored$/s);
    return;
  }
  expect([400, 413, 422]).toContain(result.status);
  expect(result.body.message.trim().length).toBeGreaterThan(0);
  if (result.status !== 400) expect(result.body.issues?.length ?? 0).toBeGreaterThan(0);
  for (const issue of result.body.issues ?? []) {
    expect(issue.field.length).toBeGreaterThan(0);
    expect(issue.message.trim().length).toBeGreaterThan(0);
  }
}

const anyString = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("", " ", ".", "..", "../x", "a/b", "\u0000", "__proto__", "mlflow.x", "PATH"));

const requirementLike = fc.oneof(
  anyString,
  fc.constantFrom("scikit-learn", "pandas>=2", "numpy==2.1.*", "-r x", "a @ file:///etc", "x; python_version >= \"3.10\"", "x;", "x (>=1)", "x[a,b]~=1.2"),
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,10}$/), fc.constantFrom("", "==", ">=", "~=", "!=", "===", "<"), fc.stringMatching(/^[0-9a-z.*+!-]{0,8}$/)).map(([n, op, v]) => `${n}${op}${v}`),
);

const scriptContent = fc.oneof(
  fc.string({ unit: "binary", minLength: 0, maxLength: 200 }).map(b64),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString("base64")),
  fc.string({ maxLength: 50 }),
  fc.stringMatching(/^[A-Za-z0-9+/=\s_-]{0,40}$/),
);

const stringMap = (keys: fc.Arbitrary<string>) => fc.dictionary(keys, fc.oneof(fc.string(), fc.jsonValue()), { maxKeys: 5 });

/** Per field: leave it out, or a replacement that is sometimes valid and often not. */
const mutations: Record<string, fc.Arbitrary<unknown>> = {
  script_name: fc.oneof(anyString, fc.constantFrom("train.py", "train"), fc.jsonValue()),
  script_content: fc.oneof(scriptContent, fc.jsonValue()),
  experiment_name: fc.oneof(anyString, fc.jsonValue()),
  model_name: fc.oneof(anyString, fc.jsonValue()),
  requirements: fc.oneof(fc.constant(null), fc.array(requirementLike, { maxLength: 6 }), fc.jsonValue()),
  environment_vars: fc.oneof(fc.constant(null), stringMap(fc.oneof(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), anyString)), fc.jsonValue()),
  timeout: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 5000 }), fc.double(), fc.jsonValue()),
  tags: fc.oneof(fc.constant(null), stringMap(anyString), fc.jsonValue()),
  extra_field: fc.jsonValue(),
};

const VALID = {
  script_name: "train.py",
  script_content: b64("print('hello')\n"),
  experiment_name: "exp",
  model_name: "model",
};

const mutatedBody = fc
  .record(Object.fromEntries(Object.entries(mutations).map(([k, arb]) => [k, fc.option(fc.oneof(arb, fc.constant(undefined)), { nil: "keep" as const })])))
  .map((changes) => {
    const body: Record<string, unknown> = { ...VALID };
    for (const [k, change] of Object.entries(changes)) {
      if (change === "keep") continue;
      if (change === undefined) delete body[k];
      else body[k] = change;
    }
    return body;
  });

describe("parseUploadRequest properties", () => {
  it(`never throws on ${RUNS} arbitrary JSON values, and answers ok or a 4xx with a message`, () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        assertWellFormed(parseUploadRequest(body));
      }),
      { numRuns: RUNS, seed },
    );
  });

  it(`never throws on ${RUNS} mutations of a valid body, and answers ok or a 4xx with a message`, () => {
    fc.assert(
      fc.property(mutatedBody, (body) => {
        assertWellFormed(parseUploadRequest(body));
      }),
      { numRuns: RUNS, seed },
    );
  });

  it(`accepts every valid body it is given (${RUNS} runs), echoing the fields`, () => {
    const validBody = fc.record({
      script_name: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}(\.py)?$/),
      source: fc.string({ unit: "grapheme", minLength: 1, maxLength: 300 }).filter((s) => s.trim() !== ""),
      experiment_name: fc.stringMatching(/^[A-Za-z0-9 _.-]{0,60}[A-Za-z0-9]$/),
      model_name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,60}$/),
      timeout: fc.integer({ min: 60, max: 3600 }),
      environment_vars: fc.dictionary(fc.stringMatching(/^DATA_[A-Z0-9_]{0,10}$/), fc.string(), { maxKeys: 4 }),
    });
    fc.assert(
      fc.property(validBody, ({ source, ...fields }) => {
        const result = parseUploadRequest({ ...fields, script_content: b64(source) });
        assertWellFormed(result);
        expect(result.ok, JSON.stringify(result.ok ? null : result.body)).toBe(true);
        if (!result.ok) return;
        expect(result.value.script).toBe(source);
        expect(result.value.environment_vars).toEqual(fields.environment_vars);
        expect(result.value.timeout).toBe(fields.timeout);
      }),
      { numRuns: RUNS, seed },
    );
  });
});
