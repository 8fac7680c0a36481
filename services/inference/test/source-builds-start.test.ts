import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { FROM_SOURCES } from "@asgard/test-support";

const root = resolve(import.meta.dirname, "..", "..", "..");

/** The service's real entry point; it must refuse before it connects anywhere, so no server is named that exists. */
function startInference(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...FROM_SOURCES, join(root, "services", "inference", "src", "main.ts")], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NATS_URL: "nats://127.0.0.1:1", MLFLOW_TRACKING_URI: "http://127.0.0.1:1", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", fail);
    child.on("exit", (code) => done({ code, stderr }));
  });
}

describe("inference with ENV_SOURCE_BUILDS=sandbox", () => {
  it("does not start where its builds could not run in the sandbox, and says why", async () => {
    const { code, stderr } = await startInference({ ENV_SOURCE_BUILDS: "sandbox", INFERENCE_SANDBOX: "process-group" });
    expect(code).toBe(2);
    expect(stderr).toContain("inference: ENV_SOURCE_BUILDS=sandbox needs INFERENCE_SANDBOX=bwrap: source builds never run outside the sandbox.");
  });
});
