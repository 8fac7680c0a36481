import { describe, expect, it } from "vitest";
import { createLogger } from "@asgard/telemetry";
import { createAuditLog } from "./audit.js";

describe("audit log", () => {
  it("writes the whole record at warn level when its event cannot be published, so LOG_LEVEL=warn keeps it", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger("gateway", "warn", { write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    // NATS not connected: the event cannot go out.
    const audit = createAuditLog({ bus: { current: null }, logger });
    const target = { job_id: "j-1", experiment_name: "e", model_name: "m", replayed: false };
    audit.record("job.submitted", { tenant: "acme", keyId: "key-1" }, target);
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, audit: "job.submitted", tenant: "acme", key_id: "key-1", target, event_id: expect.any(String), unpublished: true });
  });
});
