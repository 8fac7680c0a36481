import { z } from "zod";
import { EVENTS } from "./catalog.js";

/**
 * Renders `docs/events.md`: every public event with its subject, stream and JSON Schema.
 * A test keeps the committed file equal to this output.
 */
export function renderEventsDoc(): string {
  const parts: string[] = [
    "# Public events",
    "",
    "Asgard announces every step of a job on NATS JetStream. External systems consume these",
    "with durable consumers of their own. Payloads are JSON; every event carries `event_id`",
    "(also its `Nats-Msg-Id`, so a re-published event is dropped as a duplicate),",
    "`schema_version` and `occurred_at`. Schemas only ever change additively: new optional",
    "fields, never a removed or retyped one.",
    "",
    "Events about a job also carry its W3C trace context as NATS headers: `traceparent` (and",
    "`tracestate` when the client sent one), continuing the trace of the HTTP request that",
    "submitted the job — or the one the gateway started for it. Every service logs the job",
    "with that `trace_id`; a consumer can log it too, or continue the trace.",
    "",
    "This file is generated from `packages/contracts` (`pnpm --filter @asgard/contracts docs`).",
    "",
  ];
  for (const def of Object.values(EVENTS)) {
    if (!def.public) continue;
    parts.push(
      `## \`${def.subject}\``,
      "",
      def.description,
      "",
      `- stream: \`${def.stream.name}\` (${def.stream.retention} retention, ${def.stream.storage} storage)`,
      `- schema_version: ${def.schemaVersion}`,
      "",
      "```json",
      JSON.stringify(z.toJSONSchema(def.schema, { io: "output" }), null, 2),
      "```",
      "",
    );
  }
  return parts.join("\n");
}
