import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError, connectBus, type Bus, type Consumption } from "@asgard/bus";
import { buildOpenApiDocument, CONSUMERS, RPC, UploadResponseSchema } from "@asgard/contracts";
import { createLogger, createMetricsRegistry, parseTraceparent } from "@asgard/telemetry";
import { createGateway } from "../src/app.js";
import { validBody } from "./bodies.js";
import { logger, startTrainingStack, type TrainingStack } from "./stack.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const CLIENT_TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;

interface LogLine {
  msg?: string;
  job_id?: string;
  trace_id?: string;
  span_id?: string;
}

async function eventually<T>(read: () => T, check: (v: T) => boolean, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = read();
    if (check(value)) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  return read();
}

describe("gateway trace context (real NATS, job-scheduler, in-process HTTP)", () => {
  let stack: TrainingStack;
  let bus: Bus;
  let app: FastifyInstance;
  let responder: { stop(): Promise<void> };
  let submitted: Consumption;
  const lines: LogLine[] = [];
  /** NATS headers the fake registry saw on each getModel request, by model name. */
  const seen = new Map<string, Record<string, string>>();
  const submittedHeaders = new Map<string, Record<string, string>>();

  beforeAll(async () => {
    stack = await startTrainingStack("gw-tracing");
    bus = await connectBus({ servers: stack.nats.url, name: "gw-tracing-traced", logger });
    app = await createGateway({
      bus: { current: bus },
      statusCache: { current: () => null, start: async () => {}, stop: async () => {} },
      logger: createLogger("gateway", "info", { write: (line) => void lines.push(JSON.parse(line) as LogLine) }),
      metrics: createMetricsRegistry("gw-tracing"),
      openapi: buildOpenApiDocument(),
      statusRetryAfterSeconds: 2,
      bodyLimitBytes: 2 * 1024 * 1024,
    });
    // The registry's place on the bus, played by the test: it records what reached it.
    responder = stack.runnerBus.serve(RPC.getModel, async (req, ctx) => {
      seen.set(req.model_name, ctx.headers);
      throw new BusError("NOT_FOUND", `no registered model is named ${req.model_name}`);
    });
    await stack.runnerBus.rtt();
    await stack.runnerBus.ensureConsumer(CONSUMERS.runners);
    submitted = stack.runnerBus.consume(
      CONSUMERS.runners,
      {
        trainingSubmitted: async (msg) => {
          submittedHeaders.set(msg.data.job_id, msg.headers);
          await msg.ack();
        },
      },
      { pullTimeoutMs: 1_000 },
    );
  });

  afterAll(async () => {
    await submitted?.stop();
    await responder?.stop();
    await app?.close();
    await bus?.close();
    await stack?.close();
  });

  const getModel = (name: string, headers: Record<string, string> = {}) =>
    app.inject({ method: "GET", url: `/mlops/models/${name}`, headers });

  it("continues the client's trace: its trace id comes back, and the NATS request carries the gateway's span", async () => {
    const res = await getModel("traced-model", { traceparent: CLIENT_TRACEPARENT, tracestate: "vendor=opaque" });
    expect(res.statusCode, res.body).toBe(404);
    const returned = parseTraceparent(String(res.headers.traceparent));
    expect(returned).toMatchObject({ traceId: TRACE_ID, flags: "01" });
    expect(returned!.spanId).not.toBe(CLIENT_SPAN);
    const nats = seen.get("traced-model");
    expect(nats?.traceparent).toBe(res.headers.traceparent);
    expect(nats?.tracestate).toBe("vendor=opaque");
  });

  it.each([
    ["garbage", "not-a-traceparent"],
    ["uppercase hex", CLIENT_TRACEPARENT.toUpperCase()],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${CLIENT_SPAN}-01`],
    ["version ff", `ff-${TRACE_ID}-${CLIENT_SPAN}-01`],
  ])("starts a new trace for %s, and sends that one on", async (what, traceparent) => {
    const name = `malformed-${what.replace(/\W+/g, "-")}`;
    const res = await getModel(name, { traceparent, tracestate: "vendor=dropped" });
    const returned = parseTraceparent(String(res.headers.traceparent));
    expect(returned).not.toBeNull();
    expect(returned!.traceId).not.toBe(TRACE_ID);
    expect(seen.get(name)?.traceparent).toBe(res.headers.traceparent);
    // A tracestate belongs to the trace it came with; a new trace does not take it over.
    expect(seen.get(name)?.tracestate).toBeUndefined();
  });

  it("starts a new trace per request without a traceparent", async () => {
    const [a, b] = [await getModel("untraced-a"), await getModel("untraced-b")];
    const [ta, tb] = [parseTraceparent(String(a.headers.traceparent)), parseTraceparent(String(b.headers.traceparent))];
    expect(ta).not.toBeNull();
    expect(tb).not.toBeNull();
    expect(ta!.traceId).not.toBe(tb!.traceId);
    expect(seen.get("untraced-a")?.traceparent).toBe(a.headers.traceparent);
  });

  it("an upload logs the job with the trace id, and the job's training.submitted carries the same trace", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/mlops/training/upload",
      payload: JSON.stringify(validBody()),
      headers: { "content-type": "application/json", traceparent: CLIENT_TRACEPARENT },
    });
    expect(res.statusCode, res.body).toBe(202);
    const job = UploadResponseSchema.parse(res.json());
    const gatewaySpan = parseTraceparent(String(res.headers.traceparent));
    expect(gatewaySpan?.traceId).toBe(TRACE_ID);

    const submittedLine = lines.find((l) => l.msg === "job submitted" && l.job_id === job.job_id);
    expect(submittedLine).toMatchObject({ trace_id: TRACE_ID, span_id: gatewaySpan!.spanId });

    const headers = await eventually(() => submittedHeaders.get(job.job_id), (h) => h !== undefined);
    const event = parseTraceparent(headers?.traceparent);
    // The scheduler's span of the create request is the parent of the event: same trace, its own span.
    expect(event?.traceId).toBe(TRACE_ID);
    expect(event?.spanId).not.toBe(gatewaySpan!.spanId);
  });
});
