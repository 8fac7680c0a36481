import { describe, expect, it } from "vitest";
import { parseUploadRequest, UploadResponseSchema, RESERVED_ENV_VARS, idempotencyKeyProblem } from "./training.js";
import { b64, expectAccepted, expectRefused, SEED_SCRIPT } from "./test-helpers.js";

const valid = () => ({
  script_name: "train.py",
  script_content: b64(SEED_SCRIPT),
  experiment_name: "my-experiment",
  model_name: "my-model",
});

const withField = (field: string, value: unknown) => ({ ...valid(), [field]: value });
const without = (field: string) => {
  const body: Record<string, unknown> = valid();
  delete body[field];
  return body;
};

describe("parseUploadRequest: the seed report's requests", () => {
  it("accepts the report's working request format", () => {
    const { value, warnings } = expectAccepted(
      parseUploadRequest({
        script_name: "train_rf.py",
        script_content: b64(SEED_SCRIPT),
        experiment_name: "asgard-automated-training",
        model_name: "test-model-1730369996",
        requirements: ["scikit-learn"],
        timeout: 300,
      }),
    );
    expect(value).toMatchObject({
      script_name: "train_rf.py",
      script: SEED_SCRIPT,
      script_bytes: Buffer.byteLength(SEED_SCRIPT),
      experiment_name: "asgard-automated-training",
      model_name: "test-model-1730369996",
      requirements: ["scikit-learn"],
      environment_vars: {},
      timeout: 300,
      tags: {},
    });
    expect(warnings).toEqual([]);
  });

  it("accepts the Python client's full upload_data", () => {
    const { value, warnings } = expectAccepted(
      parseUploadRequest({
        script_name: "train.py",
        script_content: b64(SEED_SCRIPT),
        experiment_name: "my-experiment",
        model_name: "my-model",
        requirements: ["scikit-learn", "pandas"],
        environment_vars: { DATA_PATH: "/data" },
        timeout: 300,
        tags: { version: "1.0" },
      }),
    );
    expect(value.requirements).toEqual(["scikit-learn", "pandas"]);
    expect(value.environment_vars).toEqual({ DATA_PATH: "/data" });
    expect(value.tags).toEqual({ version: "1.0" });
    expect(warnings).toEqual([]);
  });

  it("accepts the stem `train` without .py, as the original client sends it", () => {
    expect(expectAccepted(parseUploadRequest(withField("script_name", "train"))).value.script_name).toBe("train");
  });

  it("fills defaults when optional fields are omitted", () => {
    const { value } = expectAccepted(parseUploadRequest(valid()));
    expect(value).toMatchObject({ requirements: [], environment_vars: {}, timeout: 300, tags: {} });
  });

  it("never returns the base64 text, only the decoded script", () => {
    const { value } = expectAccepted(parseUploadRequest(valid()));
    expect(Object.keys(value)).not.toContain("script_content");
  });
});

describe("parseUploadRequest: leniency of the compatible surface", () => {
  it("ignores unknown fields, never returns them, and names each in warnings", () => {
    const { value, warnings } = expectAccepted(parseUploadRequest({ ...valid(), foo: 1, replicas: 3 }));
    expect(warnings).toEqual(["unknown field `foo` was ignored", "unknown field `replicas` was ignored"]);
    expect(value).not.toHaveProperty("foo");
    expect(value).not.toHaveProperty("replicas");
  });

  it.each([
    ["requirements", []],
    ["environment_vars", {}],
    ["tags", {}],
    ["timeout", 300],
  ])("treats %s: null as not sent", (field, expected) => {
    expect(expectAccepted(parseUploadRequest(withField(field, null))).value).toHaveProperty(field, expected);
  });

  it("accepts 300.0 as 300", () => {
    expect(expectAccepted(parseUploadRequest(withField("timeout", 300.0))).value.timeout).toBe(300);
  });
});

describe("parseUploadRequest: the body", () => {
  it.each([null, [], "text", 42, true])("answers 400 for a body that is %j", (body) => {
    const result = parseUploadRequest(body);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.status).toBe(400);
    expect(result.body.error).toBe("BAD_REQUEST");
    expect(result.body.message).toMatch(/JSON object/);
  });

  it("collects every problem of every field, not just the first", () => {
    const result = parseUploadRequest({ script_name: "../x", script_content: "abc", experiment_name: "", model_name: "a/b", timeout: "300" });
    for (const field of ["script_name", "script_content", "experiment_name", "model_name", "timeout"]) expectRefused(result, 422, field);
  });

  it("names every missing required field", () => {
    const result = parseUploadRequest({});
    for (const field of ["script_name", "script_content", "experiment_name", "model_name"]) {
      expect(expectRefused(result, 422, field)[0]).toMatch(/is required/);
    }
  });

  it("repeats the issues in the top-level message", () => {
    const result = parseUploadRequest(withField("model_name", "a:b"));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.body.message).toMatch(/model_name: must not contain/);
  });
});

describe("parseUploadRequest: script_name", () => {
  it.each([
    ["a number", 3],
    ["empty", ""],
    ["a relative path", "../x.py"],
    ["a nested path", "jobs/train.py"],
    ["a Windows path", "jobs\\train.py"],
    ["..", ".."],
    [".", "."],
    ["a name with ..", "a..py"],
    ["a NUL", "tra\u0000in.py"],
    ["a line break", "train\n.py"],
    ["over 255 bytes", "é".repeat(128)],
  ])("refuses %s", (_what, name) => {
    expectRefused(parseUploadRequest(withField("script_name", name)), 422, "script_name");
  });

  it("accepts a 255-byte name", () => {
    expectAccepted(parseUploadRequest(withField("script_name", `${"a".repeat(252)}.py`)));
  });

  it("says to send a file name, not a path", () => {
    const [message] = expectRefused(parseUploadRequest(withField("script_name", "../x")), 422, "script_name");
    expect(message).toMatch(/file name, not a path/);
  });
});

describe("parseUploadRequest: script_content", () => {
  it.each([
    ["missing", undefined],
    ["a number", 12],
    ["length not a multiple of 4", "abc"],
    ["a line break", `${b64("print(1)\n").slice(0, 4)}\n${b64("print(1)\n").slice(4)}`],
    ["a space", `${b64("print(1)")} `],
    ["the base64url alphabet", "-_-_"],
    ["misplaced padding", "ab=c"],
    ["too much padding", "a==="],
    ["not UTF-8", Buffer.from([0xff, 0xfe, 0xfd]).toString("base64")],
  ])("refuses %s with a 422", (_what, content) => {
    const body = content === undefined ? without("script_content") : withField("script_content", content);
    expectRefused(parseUploadRequest(body), 422, "script_content");
  });

  it("refuses an empty script", () => {
    expect(expectRefused(parseUploadRequest(withField("script_content", "")), 422, "script_content")[0]).toMatch(/empty/);
  });

  it("refuses a script of only whitespace", () => {
    expectRefused(parseUploadRequest(withField("script_content", b64(" \n\t\n"))), 422, "script_content");
  });

  it("answers 413 naming the limit when the decoded script is too large", () => {
    const [message] = expectRefused(parseUploadRequest(withField("script_content", b64("x".repeat(101))), { maxScriptBytes: 100 }), 413, "script_content");
    expect(message).toMatch(/100 bytes/);
  });

  it("accepts a script of exactly the limit", () => {
    expectAccepted(parseUploadRequest(withField("script_content", b64("x".repeat(100))), { maxScriptBytes: 100 }));
  });

  it("answers 413 above the default 512 KiB", () => {
    const result = parseUploadRequest(withField("script_content", b64("#".repeat(512 * 1024 + 1))));
    expect(expectRefused(result, 413, "script_content")[0]).toMatch(/524288 bytes/);
    if (!result.ok) expect(result.body.error).toBe("PAYLOAD_TOO_LARGE");
  });

  it("accepts 512 KiB exactly by default", () => {
    expect(expectAccepted(parseUploadRequest(withField("script_content", b64("#".repeat(512 * 1024))))).value.script_bytes).toBe(512 * 1024);
  });

  it("answers 413 for an oversized body without scanning it, even if it is not base64", () => {
    expectRefused(parseUploadRequest(withField("script_content", "!".repeat(200)), { maxScriptBytes: 100 }), 413, "script_content");
  });

  it("keeps a 413 when other fields are wrong too, and lists them all", () => {
    const result = parseUploadRequest({ ...valid(), script_content: b64("x".repeat(200)), model_name: "" }, { maxScriptBytes: 100 });
    expectRefused(result, 413, "script_content");
    expectRefused(result, 413, "model_name");
  });

  it("decodes UTF-8 exactly, byte order mark included", () => {
    const source = "\uFEFF# é ü 你好\nprint('ok')\n";
    const { value } = expectAccepted(parseUploadRequest(withField("script_content", b64(source))));
    expect(value.script).toBe(source);
    expect(value.script_bytes).toBe(Buffer.byteLength(source));
  });
});

describe("parseUploadRequest: experiment_name", () => {
  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["blank", "   "],
    ["a control character", "exp\u0007"],
    ["over 256 characters", "e".repeat(257)],
    ["not a string", ["exp"]],
  ])("refuses %s", (_what, name) => {
    const body = name === undefined ? without("experiment_name") : withField("experiment_name", name);
    expectRefused(parseUploadRequest(body), 422, "experiment_name");
  });

  it("accepts 256 characters", () => {
    expectAccepted(parseUploadRequest(withField("experiment_name", "e".repeat(256))));
  });
});

describe("parseUploadRequest: model_name (MLflow's rules)", () => {
  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["blank", " \t "],
    ["a slash", "team/model"],
    ["a colon", "model:v1"],
    [".", "."],
    ["a leading ..", "..model"],
    ["a line break", "model\n"],
    ["over 256 characters", "m".repeat(257)],
  ])("refuses %s", (_what, name) => {
    const body = name === undefined ? without("model_name") : withField("model_name", name);
    expectRefused(parseUploadRequest(body), 422, "model_name");
  });

  it.each(["my model", "test-model-1730369996", "a.b", "модель", "m".repeat(256)])("accepts %s", (name) => {
    expectAccepted(parseUploadRequest(withField("model_name", name)));
  });
});

describe("parseUploadRequest: requirements", () => {
  it("accepts PEP 508 requirements and trims them", () => {
    const list = [
      "scikit-learn",
      "pandas>=2",
      "numpy==2.1.*",
      " requests[security,socks]>=2.31,<3 ",
      'tomli; python_version < "3.11"',
      "torch (>=2.0)",
    ];
    expect(expectAccepted(parseUploadRequest(withField("requirements", list))).value.requirements).toEqual(list.map((s) => s.trim()));
  });

  it.each([
    ["a pip option", "-r /etc/hostname", /pip options/],
    ["an index URL", "--index-url http://evil.example/simple", /pip options/],
    ["an editable install", "-e .", /pip options/],
    ["a direct reference", "pkg @ file:///etc", /direct references/],
    ["a VCS URL", "git+https://github.com/org/repo", /URLs/],
    ["a path", "./pkg", /paths/],
    ["a file: reference", "file:pkg", /paths/],
    ["a variable", "pkg$HOME", /\$/],
    ["a comment", "pandas # data", /comments/],
    ["a line break", "pandas\n--index-url x", /single line/],
    ["blank", "   ", /empty/],
    ["an over-long entry", `a${"b".repeat(200)}`, /at most 200/],
    ["a wildcard after >=", "numpy>=2.*", /wildcards/],
    ["~= with one part", "foo~=1", /two version parts/],
    ["a single =", "pandas=2", /==/],
    ["a bare version", "pandas 2.0", /not a version constraint/],
    ["an unclosed parenthesis in a marker", 'pkg; (os_name == "nt" or os_name == "posix"', /not closed/],
    ["an unknown marker variable", 'pkg; evil == "1"', /not an environment marker variable/],
    ["an empty marker", "pkg;", /environment marker/],
  ])("refuses %s", (_what, requirement, message) => {
    const [first] = expectRefused(parseUploadRequest(withField("requirements", ["scikit-learn", requirement])), 422, "requirements.1");
    expect(first).toMatch(message);
  });

  it("refuses duplicates by normalized name, saying how to combine them", () => {
    const [message] = expectRefused(parseUploadRequest(withField("requirements", ["scikit_learn", "Scikit-Learn>=1.4"])), 422, "requirements.1");
    expect(message).toMatch(/combine/);
  });

  it("accepts one package twice when markers select between them", () => {
    expectAccepted(parseUploadRequest(withField("requirements", ['numpy<2; python_version < "3.9"', 'numpy>=2; python_version >= "3.9"'])));
  });

  it("accepts markers grouped with parentheses, as Requires-Dist lines write them", () => {
    expectAccepted(parseUploadRequest(withField("requirements", ['psutil; (sys_platform == "linux" or sys_platform == "darwin") and python_version >= "3.10"'])));
  });

  it("refuses more than 100 entries", () => {
    const list = Array.from({ length: 101 }, (_, i) => `pkg${i}`);
    expectRefused(parseUploadRequest(withField("requirements", list)), 422, "requirements");
  });

  it("refuses a string instead of a list, and non-string entries", () => {
    expectRefused(parseUploadRequest(withField("requirements", "scikit-learn")), 422, "requirements");
    expectRefused(parseUploadRequest(withField("requirements", ["pandas", 3])), 422, "requirements.1");
  });
});

describe("parseUploadRequest: environment_vars", () => {
  it.each([...RESERVED_ENV_VARS.exact, "MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE", "PYTHONPATH", "PYTHONHOME", "LD_PRELOAD", "PIP_INDEX_URL", "UV_INDEX_URL"])(
    "refuses the reserved name %s, naming the rule",
    (name) => {
      const [message] = expectRefused(parseUploadRequest(withField("environment_vars", { [name]: "x" })), 422, `environment_vars.${name}`);
      expect(message).toMatch(/reserved \(.*set by the platform\)/);
    },
  );

  it.each([["lower"], ["1ABC"], ["A-B"], [""], ["__proto__"]])("refuses the name %j", (name) => {
    const body = withField("environment_vars", JSON.parse(`{${JSON.stringify(name)}: "x"}`));
    expectRefused(parseUploadRequest(body), 422, `environment_vars.${name}`);
  });

  it("refuses non-string values, NUL characters and values over 32 KiB", () => {
    expectRefused(parseUploadRequest(withField("environment_vars", { N: 1 })), 422, "environment_vars.N");
    expectRefused(parseUploadRequest(withField("environment_vars", { N: "a\u0000b" })), 422, "environment_vars.N");
    expectRefused(parseUploadRequest(withField("environment_vars", { N: "x".repeat(32 * 1024 + 1) })), 422, "environment_vars.N");
    expectAccepted(parseUploadRequest(withField("environment_vars", { N: "x".repeat(32 * 1024) })));
  });

  it("refuses more than 100 variables, and a list instead of an object", () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`V${i}`, "x"]));
    expectRefused(parseUploadRequest(withField("environment_vars", many)), 422, "environment_vars");
    expectRefused(parseUploadRequest(withField("environment_vars", ["DATA_PATH=/data"])), 422, "environment_vars");
  });
});

describe("parseUploadRequest: timeout", () => {
  it.each([
    ["a string", "300"],
    ["below the minimum", 59],
    ["above the maximum", 3601],
    ["a fraction", 300.5],
    ["a boolean", true],
  ])("refuses %s", (_what, timeout) => {
    expectRefused(parseUploadRequest(withField("timeout", timeout)), 422, "timeout");
  });

  it("follows the configured bounds", () => {
    expect(expectAccepted(parseUploadRequest(withField("timeout", 7200), { maxTimeoutSeconds: 7200 })).value.timeout).toBe(7200);
    expectRefused(parseUploadRequest(withField("timeout", 60), { minTimeoutSeconds: 120 }), 422, "timeout");
  });
});

describe("parseUploadRequest: resources", () => {
  const maxima = { memoryMb: 2048, cpus: 2, processes: 256, diskMb: 512 };

  it("keeps only what was asked for, and nothing when nothing or null was sent", () => {
    expect(expectAccepted(parseUploadRequest(withField("resources", { memory_mb: 512, cpus: 0.5 }))).value.resources).toEqual({ memory_mb: 512, cpus: 0.5 });
    expect(expectAccepted(parseUploadRequest(valid())).value).not.toHaveProperty("resources");
    expect(expectAccepted(parseUploadRequest(withField("resources", null))).value).not.toHaveProperty("resources");
    expect(expectAccepted(parseUploadRequest(withField("resources", {}))).value).not.toHaveProperty("resources");
  });

  it.each([
    ["memory_mb", 4096, /at most 2048 MiB, this deployment's maximum for memory_mb/],
    ["cpus", 3, /at most 2 CPUs, this deployment's maximum for cpus/],
    ["processes", 257, /at most 256 processes/],
    ["disk_mb", 513, /at most 512 MiB, this deployment's maximum for disk_mb/],
  ])("refuses %s above the deployment's maximum with a 422 naming it", (field, value, message) => {
    const [first] = expectRefused(parseUploadRequest(withField("resources", { [field]: value }), { resourceMaxima: maxima }), 422, `resources.${field}`);
    expect(first).toMatch(message);
  });

  it.each([
    ["a fraction of MiB", { memory_mb: 100.5 }, "resources.memory_mb"],
    ["too little memory to start Python", { memory_mb: 16 }, "resources.memory_mb"],
    ["no CPU", { cpus: 0 }, "resources.cpus"],
    ["more CPUs than any machine, with no deployment maximum", { cpus: 200_000 }, "resources.cpus"],
    ["a string", { processes: "64" }, "resources.processes"],
    ["an unknown field", { gpus: 1 }, "resources"],
  ])("refuses %s", (_what, resources, field) => {
    expectRefused(parseUploadRequest(withField("resources", resources)), 422, field);
  });

  it("refuses a resources value that is not an object", () => {
    const [first] = expectRefused(parseUploadRequest(withField("resources", 2048)), 422, "resources");
    expect(first).toMatch(/must be an object/);
  });
});

describe("parseUploadRequest: tags", () => {
  it.each([
    ["an mlflow. key", "mlflow.user", /reserved by MLflow/],
    ["an asgard. key", "asgard.job_id", /set by the platform/],
    ["a bad character", "bad!key", /may only contain/],
    ["an empty key", "", /empty/],
    ["a leading slash", "/abs", /must not start with "\/"/],
    ["a doubled slash", "a//b", /path segments/],
    ["a 251-character key", "k".repeat(251), /at most 250/],
  ])("refuses %s", (_what, key, message) => {
    const [first] = expectRefused(parseUploadRequest(withField("tags", { [key]: "v" })), 422, `tags.${key}`);
    expect(first).toMatch(message);
  });

  it("refuses non-string and over-long values", () => {
    expectRefused(parseUploadRequest(withField("tags", { version: 1 })), 422, "tags.version");
    expectRefused(parseUploadRequest(withField("tags", { version: "v".repeat(8001) })), 422, "tags.version");
  });

  it.each(["version", "team name", "a/b", "x:y", "données"])("accepts the key %j", (key) => {
    expectAccepted(parseUploadRequest(withField("tags", { [key]: "v".repeat(8000) })));
  });
});

describe("upload response and idempotency key", () => {
  it("describes the 202 answer with the original's nulls and the warnings", () => {
    const answer = {
      job_id: "1e2a6715",
      script_name: "train_rf.py",
      experiment_name: "asgard-automated-training",
      model_name: "test-model-1730369996",
      status: "queued",
      run_id: null,
      model_version: null,
      logs: "",
      error: null,
      created_at: "2025-10-31T10:00:00.000Z",
      started_at: null,
      completed_at: null,
      duration_seconds: null,
      phase: "queued",
      attempt: 0,
      error_type: null,
      exit_code: null,
      registration_error: null,
      cancel_requested: false,
      requirements: ["scikit-learn"],
      tags: {},
      timeout: 300,
      logs_truncated: false,
      tenant: "default",
      warnings: ["unknown field `foo` was ignored"],
    };
    expect(UploadResponseSchema.parse(answer)).toEqual(answer);
    expect(UploadResponseSchema.shape).not.toHaveProperty("environment_vars");
  });

  it.each([
    ["", /empty/],
    ["k".repeat(256), /at most 255/],
    ["has space", /visible ASCII/],
  ])("refuses the Idempotency-Key %j", (key, message) => {
    expect(idempotencyKeyProblem(key)).toMatch(message);
  });

  it("accepts a UUID as Idempotency-Key", () => {
    expect(idempotencyKeyProblem("7d444840-9dc0-11d1-b245-5ffdce74fad2")).toBeNull();
  });
});
