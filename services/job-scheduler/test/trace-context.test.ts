import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RPC, STREAMS } from "@asgard/contracts";
import { putContentAddressed } from "@asgard/storage";
import { parseTraceparent } from "@asgard/telemetry";
import { findJob, insertJob } from "../src/db/jobs.js";
import type { SchedulerDb } from "../src/db/schema.js";
import { collectSubmitted, createRequest, engines, eventually, startTestEnv, storedJob, suiteTitle, type TestEnv } from "./support/harness.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const GATEWAY_SPAN = "00f067aa0ba902b7";
const GATEWAY_TRACEPARENT = `00-${TRACE_ID}-${GATEWAY_SPAN}-01`;

describe(suiteTitle("job-scheduler: trace context of jobs"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;
    const db = () => env.database.db as unknown as SchedulerDb;

    beforeAll(async () => {
      env = await startTestEnv(engine);
    });
    afterAll(async () => {
      await env?.dispose();
    });

    it("stores the create request's span with the job and publishes training.submitted with it", async () => {
      const submitted = await collectSubmitted(env.bus);
      try {
        const { job } = await env.bus.request(RPC.createJob, createRequest(), {
          headers: { traceparent: GATEWAY_TRACEPARENT, tracestate: "vendor=opaque" },
        });
        const got = await eventually(async () => submitted.messages.filter((m) => m.data.job_id === job.job_id), (m) => m.length > 0);
        const headers = got[0]!.headers;
        const sent = parseTraceparent(headers.traceparent);
        expect(sent?.traceId).toBe(TRACE_ID);
        // The scheduler's own span: a child of the gateway's.
        expect(sent?.spanId).not.toBe(GATEWAY_SPAN);
        expect(headers.tracestate).toBe("vendor=opaque");
        const row = await findJob(db(), job.job_id);
        expect(row).toMatchObject({ traceparent: headers.traceparent, tracestate: "vendor=opaque" });
      } finally {
        await submitted.stop();
      }
    });

    it("the relay publishes a job whose first publish failed with the job's traceparent", async () => {
      await env.bus.deleteStream(STREAMS.training.name);
      const { job } = await env.bus.request(RPC.createJob, createRequest(), { headers: { traceparent: GATEWAY_TRACEPARENT } });
      const row = await findJob(db(), job.job_id);
      expect(row?.published_at).toBeNull();
      expect(parseTraceparent(row?.traceparent)?.traceId).toBe(TRACE_ID);

      await env.bus.ensureStream(STREAMS.training);
      const submitted = await collectSubmitted(env.bus);
      try {
        const got = await eventually(async () => submitted.messages.filter((m) => m.data.job_id === job.job_id), (m) => m.length > 0);
        expect(got[0]!.headers.traceparent).toBe(row?.traceparent);
        expect(got[0]!.headers.tracestate).toBeUndefined();
        await eventually(() => findJob(db(), job.job_id), (r) => r?.published_at != null);
      } finally {
        await submitted.stop();
      }
    });

    it("the relay of a restarted scheduler sends a stored traceparent; a job stored without one goes out without", async () => {
      await env.scheduler.stop();
      const script = await putContentAddressed(env.blobs, "scripts", "print('traced outbox')\n");
      const stored = `00-${"a".repeat(32)}-${"b".repeat(16)}-00`;
      const traced = randomUUID();
      const untraced = randomUUID();
      await insertJob(db(), storedJob(script, { job_id: traced, traceparent: stored, tracestate: "k=v" }));
      await insertJob(db(), storedJob(script, { job_id: untraced }));
      const submitted = await collectSubmitted(env.bus);
      try {
        await env.restart();
        const got = await eventually(
          async () => submitted.messages.filter((m) => m.data.job_id === traced || m.data.job_id === untraced),
          (m) => m.length >= 2,
        );
        const headersOf = (id: string) => got.find((m) => m.data.job_id === id)!.headers;
        expect(headersOf(traced)).toMatchObject({ traceparent: stored, tracestate: "k=v" });
        expect(headersOf(untraced).traceparent).toBeUndefined();
      } finally {
        await submitted.stop();
      }
    });

    it("a create without a traceparent starts a trace of its own for the job", async () => {
      const submitted = await collectSubmitted(env.bus);
      try {
        const { job } = await env.bus.request(RPC.createJob, createRequest());
        const got = await eventually(async () => submitted.messages.filter((m) => m.data.job_id === job.job_id), (m) => m.length > 0);
        const sent = parseTraceparent(got[0]!.headers.traceparent);
        expect(sent).not.toBeNull();
        expect(sent!.traceId).not.toBe(TRACE_ID);
        expect((await findJob(db(), job.job_id))?.traceparent).toBe(got[0]!.headers.traceparent);
      } finally {
        await submitted.stop();
      }
    });
  });
});
