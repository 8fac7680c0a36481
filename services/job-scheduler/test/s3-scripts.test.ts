import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RPC } from "@asgard/contracts";
import { createBlobStore } from "@asgard/storage";
import { b64, claim, createJob, engines, LOCAL_SCOPE, rand, startTestEnv, type TestEnv } from "./support/harness.js";

describe("job-scheduler: scripts in an S3 blob store", () => {
  const infra = inject("infra");
  let env: TestEnv;
  const prefix = `scheduler-${rand()}`;

  beforeAll(async () => {
    const s3 = infra.s3;
    if (!s3) throw new Error("the harness started no S3 server");
    // The same URL form main.ts reads from BLOB_STORE_URL.
    const blobs = createBlobStore({ url: `s3://${s3.bucket}/${prefix}`, s3 });
    env = await startTestEnv(engines[engines.length - 1]!, {}, blobs);
  });
  afterAll(async () => {
    await env?.dispose();
  });

  it("stores the script content-addressed in S3 and hands it to the runner and the script endpoint", async () => {
    const script = `print("s3 ${rand()}")\n`;
    const job = await createJob(env.bus, { script_b64: b64(script) });
    const sha256 = createHash("sha256").update(script).digest("hex");
    expect(await env.blobs.has(`scripts/${sha256}`)).toBe(true);
    expect(await env.bus.request(RPC.getJobScript, { job_id: job.job_id, scope: LOCAL_SCOPE })).toMatchObject({ script_b64: b64(script), sha256 });
    expect(await claim(env.bus, job.job_id)).toMatchObject({ granted: true, script_b64: b64(script) });
  });
});
