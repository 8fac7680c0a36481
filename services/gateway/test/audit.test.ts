import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_EVENTS, RPC, type AuditAction, type CreateKeyResponse } from "@asgard/contracts";
import { createLogger } from "@asgard/telemetry";
import { validBody } from "./bodies.js";
import { bearer, createKey, eventually, keyedReplica, LOCAL, type KeyedReplica } from "./keyed-gateway.js";
import { startTrainingStack, type TrainingStack } from "./stack.js";

interface Seen {
  action: string;
  tenant: string;
  key_id: string | null;
  target: Record<string, unknown>;
  event_id: string;
}

/**
 * Who changed what: every change made through the API is one `audit` log line and one
 * `audit.<action>` event on NATS, with the tenant and the key's id — never the key. Jobs go to
 * the real job-scheduler; the test answers the registry's endpoints itself (the registry's
 * own work is not what is audited here).
 */
describe("audit records (real NATS and job-scheduler)", () => {
  let stack: TrainingStack;
  let gateway: KeyedReplica;
  const lines: string[] = [];
  const events: Seen[] = [];
  const watches: Array<{ stop(): Promise<void> }> = [];
  const registry: Array<{ stop(): Promise<void> }> = [];
  let admin: CreateKeyResponse;
  let submitter: CreateKeyResponse;
  let modeller: CreateKeyResponse;

  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit !== undefined);
  const eventsOf = (action: AuditAction) => events.filter((e) => e.action === action);

  /** Both records of one change: the event on NATS and the log line, with the same id. */
  async function recorded(action: AuditAction, count = 1): Promise<Seen> {
    await eventually(() => eventsOf(action).length >= count);
    const event = eventsOf(action)[count - 1]!;
    const line = logged().find((l) => l.event_id === event.event_id);
    expect(line, `log line of ${action}`).toMatchObject({ audit: action, tenant: event.tenant, key_id: event.key_id, target: event.target });
    return event;
  }

  beforeAll(async () => {
    stack = await startTrainingStack("gw-audit");
    const logger = createLogger("gateway-audit-test", "info", { write: (line) => void lines.push(line) });
    gateway = await keyedReplica(stack.nats.url, "audit", { logger });
    for (const def of Object.values(AUDIT_EVENTS)) {
      watches.push(stack.runnerBus.watchEvent(def, (event) => void events.push(event as unknown as Seen)));
    }
    registry.push(
      stack.runnerBus.serve(RPC.registerModel, async (req) => ({
        model_name: req.model_name,
        version: "7",
        run_id: req.run_id,
        status: "registered" as const,
        created_at: new Date().toISOString(),
        source: `models:/m-${req.run_id}`,
      })),
      stack.runnerBus.serve(RPC.setModelAlias, async (req) => ({ model_name: req.model_name, alias: req.alias, version: req.version, previous_version: null })),
      stack.runnerBus.serve(RPC.deleteModelAlias, async (req) => ({ model_name: req.model_name, alias: req.alias, previous_version: "7" })),
    );
  });

  afterAll(async () => {
    for (const w of [...watches, ...registry]) await w.stop();
    await gateway?.close();
    await stack?.close();
  });

  it("records the first key, made from this machine without a key, and keys made by an admin", async () => {
    admin = await createKey(gateway.app, null, { name: "first admin", scopes: ["admin"] });
    const first = await recorded("api_key.created");
    expect(first).toMatchObject({ tenant: "default", key_id: null, target: { id: admin.id, name: "first admin", tenant: "default", scopes: ["admin"], limits_exempt: false } });
    submitter = await createKey(gateway.app, admin.key, { name: "ci", scopes: ["jobs:submit", "jobs:read"], tenant: "team-a", rate_limit_per_minute: 120 });
    modeller = await createKey(gateway.app, admin.key, { name: "ml", scopes: ["models:manage"], tenant: "team-a" });
    const made = await recorded("api_key.created", 2);
    expect(made).toMatchObject({ tenant: "default", key_id: admin.id, target: { id: submitter.id, tenant: "team-a", rate_limit_per_minute: 120 } });
  });

  it("records a submission with the key's tenant and id, a replay as replayed, and a cancel", async () => {
    const headers = { ...bearer(submitter.key), "content-type": "application/json", "idempotency-key": "audit-once" };
    const first = await gateway.app.inject({ method: "POST", url: "/mlops/training/upload", headers, payload: validBody() });
    expect(first.statusCode, first.body).toBe(202);
    const jobId = first.json<{ job_id: string }>().job_id;
    const submitted = await recorded("job.submitted");
    expect(submitted).toMatchObject({ tenant: "team-a", key_id: submitter.id, target: { job_id: jobId, replayed: false } });
    expect((await gateway.app.inject({ method: "POST", url: "/mlops/training/upload", headers, payload: validBody() })).statusCode).toBe(202);
    expect((await recorded("job.submitted", 2)).target).toMatchObject({ job_id: jobId, replayed: true });

    const cancel = await gateway.app.inject({ method: "DELETE", url: `/mlops/training/jobs/${jobId}`, headers: bearer(submitter.key) });
    expect(cancel.statusCode, cancel.body).toBeLessThan(300);
    expect(await recorded("job.cancelled")).toMatchObject({ tenant: "team-a", key_id: submitter.id, target: { job_id: jobId } });
  });

  it("records a registered version and an alias set and deleted", async () => {
    const json = { ...bearer(modeller.key), "content-type": "application/json" };
    const registered = await gateway.app.inject({ method: "POST", url: "/mlops/registry", headers: json, payload: JSON.stringify({ model_name: "churn", run_id: "r1" }) });
    expect(registered.statusCode, registered.body).toBe(201);
    expect(await recorded("model.version_registered")).toMatchObject({ tenant: "team-a", key_id: modeller.id, target: { model_name: "churn", version: "7", run_id: "r1" } });
    const set = await gateway.app.inject({ method: "PUT", url: "/mlops/models/churn/aliases/champion", headers: json, payload: JSON.stringify({ version: "7" }) });
    expect(set.statusCode, set.body).toBe(200);
    expect(await recorded("model.alias_set")).toMatchObject({ key_id: modeller.id, target: { model_name: "churn", alias: "champion", version: "7" } });
    const deleted = await gateway.app.inject({ method: "DELETE", url: "/mlops/models/churn/aliases/champion", headers: bearer(modeller.key) });
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect(await recorded("model.alias_deleted")).toMatchObject({ key_id: modeller.id, target: { model_name: "churn", alias: "champion" } });
  });

  it("records nothing for a change that failed, and a revocation once", async () => {
    const before = events.length;
    const json = { ...bearer(modeller.key), "content-type": "application/json" };
    expect((await gateway.app.inject({ method: "PUT", url: "/mlops/models/churn/aliases/champion", headers: json, payload: JSON.stringify({ version: "latest" }) })).statusCode).toBe(422);
    expect((await gateway.app.inject({ method: "DELETE", url: "/mlops/training/jobs/no-such-job", headers: bearer(submitter.key) })).statusCode).toBe(404);
    expect((await gateway.app.inject({ method: "POST", url: "/mlops/keys", headers: { ...bearer(submitter.key), "content-type": "application/json" }, payload: "{}" })).statusCode).toBe(403);

    for (let i = 0; i < 2; i++) expect((await gateway.app.inject({ method: "DELETE", url: `/mlops/keys/${modeller.id}`, headers: bearer(admin.key) })).statusCode).toBe(200);
    expect(await recorded("api_key.revoked")).toMatchObject({ tenant: "default", key_id: admin.id, target: { id: modeller.id } });
    // One more change, recorded after everything above: the failures and the second revoke (nothing changed) left no record.
    await createKey(gateway.app, admin.key, { name: "marker", scopes: ["predict"] });
    await recorded("api_key.created", 4);
    expect(events.slice(before).map((e) => e.action)).toEqual(["api_key.revoked", "api_key.created"]);
  });

  it("never carries a key, in an event or a log line", async () => {
    const all = JSON.stringify(events) + lines.join("\n");
    for (const key of [admin, submitter, modeller]) {
      expect(all).toContain(key.id);
      expect(all).not.toContain(key.key);
    }
    // Local mode's first key and the log lines' shape.
    expect(logged().length).toBe(events.length);
    expect((await gateway.app.inject({ url: "/healthz", headers: LOCAL })).statusCode).toBe(200);
  });
});
