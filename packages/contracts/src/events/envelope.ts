import { z } from "zod";
import { DEFAULT_TENANT, TenantSchema } from "../tenant.js";

/**
 * Fields every public event carries. `event_id` is unique per event and doubles as the
 * JetStream message id, so a re-published event is dropped as a duplicate.
 */
export const envelope = {
  event_id: z.string().min(1).describe("Unique id of this event; also its Nats-Msg-Id."),
  schema_version: z.number().int().positive().describe("Version of this payload schema; changes are additive."),
  occurred_at: z.iso.datetime().describe("When the event happened (ISO-8601 UTC)."),
  tenant: TenantSchema.default(DEFAULT_TENANT).describe(
    "The tenant whose job or model the event is about; events published before tenants existed read as `default`.",
  ),
};
