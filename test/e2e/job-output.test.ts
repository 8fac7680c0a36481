import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startPlatform, waitForJob, type Platform } from "@asgard/test-support";

interface Job {
  job_id: string;
  status: string;
  phase: string | null;
  logs: string;
  error: string | null;
  error_type: string | null;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const rand = () => Math.random().toString(36).slice(2, 10);
/** The job's output cap for this suite: small, so a job passes it quickly. */
const MAX_LOG_BYTES = 256 * 1024;

/** Writes NUL bytes, broken UTF-8 and an encoded surrogate as fast as it can, until it is cancelled. */
const FLOOD_SCRIPT = `import sys
out = sys.stdout.buffer
out.write(b"flood started\\n")
out.flush()
line = b"nul\\x00 broken\\xff\\xfe lone-surrogate\\xed\\xa0\\x80 cut\\xe2\\x82" + b"x" * 200 + b"\\n"
while True:
    out.write(line * 64)
    out.flush()
`;

const QUIET_SCRIPT = 'print("quiet job says hello")\n';

/** Lines of control characters: 180 KB of text, over 1 MiB once escaped in JSON. */
const CONTROL_SCRIPT = `import sys
for i in range(3):
    sys.stdout.write("\\x01" * 60000 + "\\n")
print("after the control characters")
`;

/** About 1 MiB of ordinary lines, then a clean exit. */
const CHATTY_SCRIPT = `for i in range(10000):
    print(f"line {i:05d} " + "y" * 90)
print("the end")
`;

describe("job output end to end: sanitised, capped, never holding up other jobs (real runner and PyPI)", () => {
  const infra = inject("infra");
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform(infra, { runners: 1, env: { MAX_LOG_BYTES: String(MAX_LOG_BYTES) }, runnerEnv: { RUNNER_SLOTS: "2" } });
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
  });

  async function upload(body: Record<string, unknown>): Promise<Job> {
    const res = await fetch(`${platform.api}/mlops/training/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ experiment_name: `output-${rand()}`, model_name: "output", timeout: 600, ...body }),
    });
    const json = (await res.json()) as Job;
    expect(res.status, JSON.stringify(json)).toBe(202);
    return json;
  }

  const getJob = async (jobId: string): Promise<Job> =>
    (await (await fetch(`${platform.api}/mlops/training/jobs/${jobId}`)).json()) as Job;

  async function until(jobId: string, check: (job: Job) => boolean, tries = 2_400): Promise<Job> {
    let last: Job | undefined;
    for (let i = 0; i < tries; i++) {
      last = await getJob(jobId);
      if (check(last)) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`job ${jobId} never got there: ${JSON.stringify(last)?.slice(0, 1500)}`);
  }

  it("fails a job whose requirement ships only a source distribution, naming the package", async () => {
    // docopt has never published a wheel: installing it would run its setup.py outside the sandbox.
    const accepted = await upload({ script_name: "sdist.py", script_content: b64("import docopt\n"), requirements: ["docopt==0.6.2"] });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job.status).toBe("failed");
    expect(job.error_type).toBe("env_build");
    expect(job.error).toMatch(/docopt is published only as a source distribution .*binary wheels only/);
  }, 600_000);

  it("a NUL and invalid-UTF-8 flood does not hold up another job's log, and is stored sanitised within the cap", async () => {
    const flood = await upload({ script_name: "flood.py", script_content: b64(FLOOD_SCRIPT) });
    await until(flood.job_id, (j) => j.logs.includes("flood started"));

    const quiet = await upload({ script_name: "quiet.py", script_content: b64(QUIET_SCRIPT) });
    const done = await waitForJob<Job>(platform.api, quiet.job_id, ["completed", "failed"]);
    expect(done.status, done.logs).toBe("completed");
    expect(done.logs).toContain("quiet job says hello");
    // The quiet job came and went while the flood was still writing.
    expect((await getJob(flood.job_id)).status).toBe("running");

    const cancel = await fetch(`${platform.api}/mlops/training/jobs/${flood.job_id}`, { method: "DELETE" });
    expect(cancel.status).toBeLessThan(300);
    const ended = await waitForJob<Job>(platform.api, flood.job_id, ["cancelled", "completed", "failed"]);
    expect(ended.status).toBe("cancelled");
    expect(ended.logs).not.toContain("\u0000");
    expect(ended.logs).toContain("nul broken\uFFFD\uFFFD lone-surrogate\uFFFD\uFFFD\uFFFD cut\uFFFD");
    expect(Buffer.byteLength(ended.logs, "utf8")).toBeLessThanOrEqual(MAX_LOG_BYTES + 1024);
    expect(ended.logs.split("\n").filter((l) => l.includes("reached its cap of"))).toEqual([
      `[asgard] output truncated: the job's output reached its cap of ${MAX_LOG_BYTES} bytes (MAX_LOG_BYTES); the rest is not kept`,
    ]);
  }, 900_000);

  it("output of control characters, far larger escaped than as text, is stored whole", async () => {
    const accepted = await upload({ script_name: "control.py", script_content: b64(CONTROL_SCRIPT) });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job.status, job.error ?? "").toBe("completed");
    // The job answer carries what fits one NATS message; the log stream pages through all of it.
    const stream = await (await fetch(`${platform.api}/mlops/training/jobs/${accepted.job_id}/logs`)).text();
    const lines = stream
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .flatMap((l) => ((JSON.parse(l.slice(6)) as { lines?: Array<{ text: string }> }).lines ?? []).map((line) => line.text));
    expect(lines.filter((l) => l === "\u0001".repeat(60000))).toHaveLength(3);
    expect(lines).toContain("after the control characters");
  }, 600_000);

  it("a job past the size cap completes, with one marker and at most the cap stored", async () => {
    const accepted = await upload({ script_name: "chatty.py", script_content: b64(CHATTY_SCRIPT) });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job.status, job.error ?? "").toBe("completed");
    const lines = job.logs.split("\n");
    expect(lines.filter((l) => l.includes("output truncated"))).toEqual([
      `[asgard] output truncated: the job's output reached its cap of ${MAX_LOG_BYTES} bytes (MAX_LOG_BYTES); the rest is not kept`,
    ]);
    expect(lines).toContain("line 00000 " + "y".repeat(90));
    expect(lines).not.toContain("the end");
    const kept = lines.filter((l) => !l.includes("output truncated"));
    expect(Buffer.byteLength(kept.join("\n"), "utf8") + 1).toBeLessThanOrEqual(MAX_LOG_BYTES);
  }, 600_000);
});

describe("source builds opted in (ENV_SOURCE_BUILDS=sandbox; real runner, sandbox and PyPI)", () => {
  const infra = inject("infra");
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform(infra, { runners: 1, env: { ENV_SOURCE_BUILDS: "sandbox" } });
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it("runs a job whose requirement ships only a source distribution, built in the sandbox", async () => {
    const res = await fetch(`${platform.api}/mlops/training/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        experiment_name: `sdist-${rand()}`,
        model_name: "sdist",
        timeout: 300,
        script_name: "sdist.py",
        script_content: b64('import docopt\nprint("docopt", docopt.__version__)\n'),
        requirements: ["docopt==0.6.2"],
      }),
    });
    const accepted = (await res.json()) as Job;
    expect(res.status, JSON.stringify(accepted)).toBe(202);
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job.status, job.error ?? job.logs).toBe("completed");
    expect(job.logs).toContain("docopt 0.6.2");
  }, 900_000);
});
