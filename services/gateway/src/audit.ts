import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { AUDIT_EVENTS, STREAMS, type AuditAction, type AuditTarget, type Caller, type Payload } from "@asgard/contracts";
import type { Logger } from "@asgard/telemetry";
import type { BusRef } from "./bus-ref.js";

declare module "fastify" {
  interface FastifyRequest {
    /**
     * Records who changed what, once the response turns out a success (2xx): one `audit` log
     * line and an `audit.<action>` event. Call it in a route with the change's target.
     */
    audit<A extends AuditAction>(action: A, target: AuditTarget<A>): void;
  }
}

/** The actor of a change: the caller's tenant and key id (never the key). */
export type AuditActor = Pick<Caller, "tenant" | "keyId">;

type AuditLogger = Pick<Logger, "info" | "warn">;

export interface AuditLog {
  /** `log`: where the line goes (a request's logger, so it carries the trace); the service's logger when absent. */
  record<A extends AuditAction>(action: A, actor: AuditActor, target: AuditTarget<A>, log?: AuditLogger): void;
}

/**
 * Writes each audit record as a log line at once, then publishes it on the AUDIT stream in
 * the background: the request does not wait for it, and an event that cannot be published
 * (NATS away) is logged whole at warn level — that line is then the record.
 */
export function createAuditLog(deps: { bus: BusRef; logger: Logger }): AuditLog {
  let declared: Promise<void> | null = null;
  const publish = async (def: (typeof AUDIT_EVENTS)[AuditAction], event: Payload<typeof def>) => {
    const bus = deps.bus.current;
    if (!bus) throw new Error("NATS is not connected yet");
    declared ??= bus.ensureStream(STREAMS.audit).catch((err: unknown) => {
      declared = null;
      throw err;
    });
    await declared;
    await bus.publish(def, event as never, { msgId: event.event_id });
  };
  return {
    record(action, actor, target, log = deps.logger) {
      const def = AUDIT_EVENTS[action];
      const event = {
        event_id: randomUUID(),
        schema_version: def.schemaVersion,
        occurred_at: new Date().toISOString(),
        tenant: actor.tenant,
        action,
        key_id: actor.keyId,
        target,
      } as Payload<typeof def>;
      const fields = { audit: action, tenant: actor.tenant, key_id: actor.keyId, target, event_id: event.event_id };
      log.info(fields, `audit: ${action}`);
      // The whole record again: with LOG_LEVEL above info the line above was never written, and this one is then the only record.
      publish(def, event).catch((err: unknown) => log.warn({ ...fields, unpublished: true, err }, `audit event not published; this line is the record: ${action}`));
    },
  };
}

const PENDING = Symbol("asgard.audit");

interface Pending {
  action: AuditAction;
  target: object;
}

/** Gives every request `req.audit(...)`; records are written once the response is a success. */
export function installAudit(app: FastifyInstance, audit: AuditLog): void {
  app.decorateRequest(PENDING, null);
  app.decorateRequest("audit", function (this: { [PENDING]: Pending[] | null }, action: AuditAction, target: object) {
    (this[PENDING] ??= []).push({ action, target });
  } as FastifyInstanceAudit);
  app.addHook("onResponse", (req, reply, done) => {
    const pending = (req as unknown as { [PENDING]: Pending[] | null })[PENDING];
    if (pending && reply.statusCode >= 200 && reply.statusCode < 300) {
      for (const p of pending) audit.record(p.action, req.caller, p.target as never, req.log);
    }
    done();
  });
}

type FastifyInstanceAudit = (action: AuditAction, target: object) => void;
