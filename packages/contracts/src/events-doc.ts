import { buildAsyncApiDocument, EVENTS_INTRODUCTION } from "./asyncapi.js";

/**
 * Renders `docs/events.md` from the AsyncAPI document (`/asyncapi.json`): every public event
 * with its subject, stream and JSON Schema. A test keeps the committed file equal to this output.
 */
export function renderEventsDoc(): string {
  const doc = buildAsyncApiDocument();
  const parts: string[] = [
    "# Public events",
    "",
    EVENTS_INTRODUCTION,
    "",
    "The same events are described as an AsyncAPI 3 document, served by the gateway at",
    "`/asyncapi.json` for code generators and tools.",
    "",
    "This file is generated from `packages/contracts` (`pnpm --filter @asgard/contracts docs`).",
    "",
  ];
  for (const channel of Object.values(doc.channels)) {
    const ref = Object.values(channel.messages)[0]?.$ref ?? "";
    const message = doc.components.messages[ref.split("/").pop() ?? ""];
    if (!message) continue;
    const stream = channel["x-asgard-stream"];
    parts.push(
      `## \`${message.title}\``,
      "",
      message.summary,
      "",
      `- stream: \`${stream.name}\` (${stream.retention} retention, ${stream.storage} storage)`,
      `- schema_version: ${message["x-schema-version"]}`,
      "",
      "```json",
      JSON.stringify(message.payload, null, 2),
      "```",
      "",
    );
  }
  return parts.join("\n");
}
