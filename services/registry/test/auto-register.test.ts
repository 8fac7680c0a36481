import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSUMERS, DEFAULT_TENANT, EVENTS } from "@asgard/contracts";
import { tagsToRecord } from "@asgard/mlflow";
import { createJobClaims } from "../src/claims.js";
import { eventually, externalConsumer, logRunWithModel, runCompleted, startStack, unique, versionsOf, type Replica, type Stack } from "./support.js";

type Registered = Awaited<ReturnType<typeof externalConsumer<typeof EVENTS.modelRegistered>>>;
type Failed = Awaited<ReturnType<typeof externalConsumer<typeof EVENTS.registrationFailed>>>;

describe("registry: automatic registration from run.completed", () => {
  let stack: Stack;
  let replicas: Replica[];
  let registered: Registered;
  let failed: Failed;

  /** The registry consumer has nothing left to handle (every delivery acked). */
  const drained = () =>
    eventually(
      () => stack.bus.consumerPending(CONSUMERS.registryRuns),
      (p) => p.pending === 0 && p.ackPending === 0,
    );

  beforeAll(async () => {
    stack = await startStack("registry-auto");
    // Two replicas share the durable consumer, as a scaled deployment does.
    replicas = [await stack.startRegistry(), await stack.startRegistry()];
    registered = await externalConsumer(stack.bus, EVENTS.modelRegistered, "scheduler-like");
    failed = await externalConsumer(stack.bus, EVENTS.registrationFailed, "failures");
  });
  afterAll(async () => {
    await registered?.stop();
    await failed?.stop();
    await stack?.close();
  });

  it("registers a job's logged model under its model name, tagged with the job id, and announces it with the job id", async () => {
    const name = unique("auto");
    const jobId = randomUUID();
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    await stack.bus.publish(EVENTS.runCompleted, runCompleted(jobId, name, run));

    const events = await eventually(() => registered.received.filter((e) => e.job_id === jobId), (e) => e.length > 0);
    expect(events[0]).toMatchObject({ model_name: name, version: "1", run_id: run.runId, job_id: jobId, source: run.uri });
    expect(events[0]?.signature?.inputs.map((c) => c.name)).toEqual(["sepal length (cm)", "petal width (cm)"]);
    const mv = await stack.mlflow.getModelVersion(name, "1");
    expect(mv.status).toBe("READY");
    expect(tagsToRecord(mv.tags)).toEqual({ "asgard.job_id": jobId, "asgard.registered_via": "job" });
  });

  it("never makes a second version for one job: the same event twice, and a copy published again", async () => {
    const name = unique("idem");
    const jobId = randomUUID();
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    const event = runCompleted(jobId, name, run);
    // Two messages of the same completion at once (distinct ids, so JetStream keeps both):
    // the two replicas may take one each, concurrently.
    await Promise.all([
      stack.bus.publish(EVENTS.runCompleted, { ...event, event_id: randomUUID() }),
      stack.bus.publish(EVENTS.runCompleted, { ...event, event_id: randomUUID() }),
    ]);
    await eventually(() => registered.received.filter((e) => e.job_id === jobId), (e) => e.length > 0);
    await drained();
    // And the original once more, later: a redelivery after the work was done.
    await stack.bus.publish(EVENTS.runCompleted, { ...event, event_id: randomUUID() });
    await drained();

    expect(await versionsOf(stack.mlflow, name)).toEqual(["1"]);
    const announced = registered.received.filter((e) => e.job_id === jobId);
    // Every delivery announces the job's one version (so a lost announcement is repeated);
    // identical announcements share one event id.
    expect(new Set(announced.map((e) => e.version))).toEqual(new Set(["1"]));
    expect(new Set(announced.map((e) => e.event_id)).size).toBe(1);

    // A manual registration of the same run still makes a new version, on purpose.
    const other = runCompleted(randomUUID(), name, run);
    await stack.bus.publish(EVENTS.runCompleted, other);
    await eventually(() => registered.received.filter((e) => e.job_id === other.job_id), (e) => e.length > 0);
    expect(await versionsOf(stack.mlflow, name)).toEqual(["1", "2"]);
  });

  it("finishes a registration a crashed replica left half done: the version exists, it is announced, none is added", async () => {
    const name = unique("half");
    const jobId = randomUUID();
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    // What a replica that died right after creating the version leaves behind.
    await stack.mlflow.createRegisteredModel(name);
    await stack.mlflow.createModelVersion({ name, source: run.uri, runId: run.runId, modelId: run.modelId, tags: { "asgard.job_id": jobId, "asgard.registered_via": "job" } });
    await stack.bus.publish(EVENTS.runCompleted, runCompleted(jobId, name, run));
    const events = await eventually(() => registered.received.filter((e) => e.job_id === jobId), (e) => e.length > 0);
    expect(events[0]?.version).toBe("1");
    await drained();
    expect(await versionsOf(stack.mlflow, name)).toEqual(["1"]);
  });

  it("leaves a job whose claim another replica holds to that replica, and announces what it registered", async () => {
    const name = unique("claimed");
    const jobId = randomUUID();
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    const other = createJobClaims({ bus: stack.bus, instanceId: "replica-elsewhere" });
    expect(await other.claim(DEFAULT_TENANT, jobId)).toMatchObject({ claimed: true });
    // A second claim on the same job is refused, whoever asks.
    expect(await other.claim(DEFAULT_TENANT, jobId)).toEqual({ claimed: false });

    await stack.bus.publish(EVENTS.runCompleted, runCompleted(jobId, name, run));
    await eventually(() => stack.bus.consumerPending(CONSUMERS.registryRuns), (p) => p.redelivered > 0);
    expect(await stack.mlflow.findRegisteredModel(name)).toBeNull();

    // The holder finishes its work; the waiting delivery finds the version and announces it.
    await stack.mlflow.createRegisteredModel(name);
    await stack.mlflow.createModelVersion({ name, source: run.uri, runId: run.runId, modelId: run.modelId, tags: { "asgard.job_id": jobId } });
    const events = await eventually(() => registered.received.filter((e) => e.job_id === jobId), (e) => e.length > 0);
    expect(events[0]?.version).toBe("1");
    await drained();
    expect(await versionsOf(stack.mlflow, name)).toEqual(["1"]);
  });

  it("adopts the version the script registered itself under the job's model name", async () => {
    const name = unique("adopt");
    const jobId = randomUUID();
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    // `log_model(..., registered_model_name=name)` inside the script.
    await stack.mlflow.createRegisteredModel(name);
    await stack.mlflow.createModelVersion({ name, source: run.uri, runId: run.runId, modelId: run.modelId });
    await stack.bus.publish(EVENTS.runCompleted, runCompleted(jobId, name, run));
    const events = await eventually(() => registered.received.filter((e) => e.job_id === jobId), (e) => e.length > 0);
    expect(events[0]).toMatchObject({ version: "1", run_id: run.runId });
    await drained();
    expect(await versionsOf(stack.mlflow, name)).toEqual(["1"]);
    expect(tagsToRecord((await stack.mlflow.getModelVersion(name, "1")).tags)["asgard.job_id"]).toBe(jobId);
  });

  it("announces registration_failed with MLflow's reason when the model cannot be registered", async () => {
    const name = unique("broken");
    const jobId = randomUUID();
    const { info } = await stack.mlflow.createRun({ experimentId: stack.experimentId });
    const ghost = "m-00000000000000000000000000000000";
    await stack.bus.publish(EVENTS.runCompleted, runCompleted(jobId, name, { runId: info.run_id, modelId: ghost, uri: `models:/${ghost}` }));
    const events = await eventually(() => failed.received.filter((e) => e.job_id === jobId), (e) => e.length > 0);
    expect(events[0]).toMatchObject({ job_id: jobId, model_name: name, run_id: info.run_id });
    expect(events[0]?.error).toMatch(/registering the model failed: .+/);
    expect(registered.received.some((e) => e.job_id === jobId)).toBe(false);
  });

  it("registers nothing for a job that failed or whose run logged no model", async () => {
    const name = unique("nothing");
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    const noModel = runCompleted(randomUUID(), name, { runId: run.runId, modelId: null, uri: null });
    const crashed = runCompleted(randomUUID(), name, run, { outcome: "failed", exit_code: 1, error_type: "script_error", error: "boom" });
    await stack.bus.publish(EVENTS.runCompleted, noModel);
    await stack.bus.publish(EVENTS.runCompleted, crashed);
    await drained();
    expect(await stack.mlflow.findRegisteredModel(name)).toBeNull();
    const jobs = new Set([noModel.job_id, crashed.job_id]);
    expect(registered.received.some((e) => e.job_id !== null && jobs.has(e.job_id))).toBe(false);
    expect(failed.received.some((e) => jobs.has(e.job_id))).toBe(false);
  });

  it("keeps registering after a replica stops: the other one has the shared consumer", async () => {
    await replicas[0]?.stop();
    const name = unique("failover");
    const jobId = randomUUID();
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    await stack.bus.publish(EVENTS.runCompleted, runCompleted(jobId, name, run));
    const events = await eventually(() => registered.received.filter((e) => e.job_id === jobId), (e) => e.length > 0);
    expect(events[0]?.version).toBe("1");
  });
});
