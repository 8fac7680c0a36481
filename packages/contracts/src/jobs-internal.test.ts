import { describe, expect, it } from "vitest";
import { ClaimResponseSchema, CreateJobRequestSchema } from "./jobs-internal.js";

const createRequest = (script_name: string) => ({
  scope: { tenant: "default", admin: true },
  script_name,
  script_b64: "cHJpbnQoMSk=",
  experiment_name: "e",
  model_name: "m",
  requirements: [],
  environment_vars: {},
  timeout: 60,
  tags: {},
  idempotency_key: null,
  request_hash: "0".repeat(64),
});
const grant = (script_name: string) => ({
  granted: true,
  job_id: "j",
  tenant: "default",
  attempt: 1,
  script_name,
  script_b64: "cHJpbnQoMSk=",
  experiment_name: "e",
  model_name: "m",
  requirements: [],
  environment_vars: {},
  tags: {},
  timeout_seconds: 60,
  previous_run_id: null,
});

describe("script names between services", () => {
  // The runner makes the name a file in the job's folder: a path there would write anywhere
  // the runner can, so the scheduler and the runner check it again whatever the gateway did.
  it.each(["../../usr/lib/python3/dist-packages/evil.pth", "/etc/cron.d/x", "..", "a\u0000b.py", ""])(
    "refuses %j in a create_job request and in a claim grant",
    (name) => {
      expect(CreateJobRequestSchema.safeParse(createRequest(name)).success).toBe(false);
      expect(ClaimResponseSchema.safeParse(grant(name)).success).toBe(false);
    },
  );

  it("accepts a bare file name, with or without .py", () => {
    expect(CreateJobRequestSchema.safeParse(createRequest("train_rf.py")).success).toBe(true);
    expect(CreateJobRequestSchema.safeParse(createRequest("train")).success).toBe(true);
    expect(ClaimResponseSchema.safeParse(grant("train_rf.py")).success).toBe(true);
  });
});
