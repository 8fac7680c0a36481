import { SEED_SCRIPT } from "@asgard/test-support";

/** Base64 of UTF-8 text, as Python's `base64.b64encode(s.encode()).decode()` makes it. */
export const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** The seed report's bodies, exactly as its clients send them. */
export const SEED_BODIES = {
  /** "Request Format (Working)". */
  reportRequest: {
    script_name: "train_rf.py",
    script_content: b64(SEED_SCRIPT),
    experiment_name: "asgard-automated-training",
    model_name: "test-model-1730369996",
    requirements: ["scikit-learn"],
    timeout: 300,
  },
  /** "Upload Request" of the workflow section. */
  uploadData: {
    script_name: "train.py",
    script_content: b64(SEED_SCRIPT),
    experiment_name: "my-experiment",
    model_name: "my-model",
    requirements: ["scikit-learn", "pandas"],
    environment_vars: { DATA_PATH: "/data" },
    timeout: 300,
    tags: { version: "1.0" },
  },
  /** "Complete Python Example". */
  completeExample: {
    script_name: "train.py",
    script_content: b64(SEED_SCRIPT),
    experiment_name: "my-experiment",
    model_name: "my-model",
    requirements: ["scikit-learn"],
    timeout: 300,
  },
} as const;

/** A small valid upload; `overrides` replace fields (undefined removes one). */
export function validBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    script_name: "train.py",
    script_content: b64("print('hello')\n"),
    experiment_name: "gateway-tests",
    model_name: "gateway-model",
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete body[key];
    else body[key] = value;
  }
  return body;
}
