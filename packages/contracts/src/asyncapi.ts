import { z } from "zod";
import { EVENTS } from "./catalog.js";
import type { EventDef } from "./catalog-types.js";

/**
 * The AsyncAPI 3 document of the public events, built from the catalog: the gateway serves it
 * at `/asyncapi.json` and `docs/events.md` is rendered from it, so the two never disagree.
 * Each public event is a channel (its subject; a wildcard segment becomes a parameter), a
 * message with the payload's JSON Schema, and the platform's `send` operation on it.
 */

export const ASYNCAPI_VERSION = "3.0.0";
/** The version of the event contract: schemas only change additively, each event has its own schema_version. */
export const EVENTS_API_VERSION = "1.0.0";

/** What the document adds to channels and messages beyond AsyncAPI's own fields. */
export interface AsgardChannelExtensions {
  "x-asgard-stream": { name: string; retention: string; storage: string };
}

type JsonSchema = Record<string, unknown>;

interface Channel extends AsgardChannelExtensions {
  address: string;
  description: string;
  parameters?: Record<string, { description: string }>;
  messages: Record<string, { $ref: string }>;
}

interface Message {
  name: string;
  title: string;
  summary: string;
  contentType: "application/json";
  headers: JsonSchema;
  payload: JsonSchema;
  "x-schema-version": number;
}

export interface AsyncApiDocument {
  asyncapi: typeof ASYNCAPI_VERSION;
  info: { title: string; version: string; description: string };
  defaultContentType: "application/json";
  servers: Record<string, { host: string; protocol: "nats"; description: string }>;
  channels: Record<string, Channel>;
  operations: Record<string, { action: "send"; channel: { $ref: string }; messages: Array<{ $ref: string }>; summary: string }>;
  components: { messages: Record<string, Message> };
}

/** The introduction both the document and docs/events.md open with. */
export const EVENTS_INTRODUCTION = [
  "Asgard announces every step of a job on NATS JetStream. External systems follow these live",
  "as the NATS user `reader`, in an account of its own that imports exactly these subjects",
  "(no replay: the API serves the history; see access.md). Payloads are JSON; every event",
  "carries `event_id` (also its `Nats-Msg-Id`, so a re-published event is dropped as a",
  "duplicate), `schema_version` and `occurred_at`. Schemas only ever change additively: new",
  "optional fields, never a removed or retyped one.",
  "",
  "Events about a job also carry its W3C trace context as NATS headers: `traceparent` (and",
  "`tracestate` when the client sent one), continuing the trace of the HTTP request that",
  "submitted the job — or the one the gateway started for it. Every service logs the job",
  "with that `trace_id`; a consumer can log it too, or continue the trace.",
].join("\n");

const HEADERS: JsonSchema = {
  type: "object",
  properties: {
    "Nats-Msg-Id": { type: "string", description: "The event's `event_id`: JetStream drops a repeat within the stream's duplicate window." },
    traceparent: { type: "string", description: "W3C trace context of the request that caused the event (events about a job)." },
    tracestate: { type: "string", description: "W3C trace state, when the client sent one." },
  },
};

const messageName = (key: string) => key.charAt(0).toUpperCase() + key.slice(1);

/** A subject with `*` segments as an AsyncAPI address with named parameters. */
function addressOf(def: EventDef): { address: string; parameters?: Record<string, { description: string }> } {
  const segments = def.subject.split(".");
  const wildcards = segments.filter((s) => s === "*").length;
  if (wildcards === 0) return { address: def.subject };
  // Today's only family is job.log.<job_id>; a second wildcard gets a numbered name.
  let n = 0;
  const parameters: Record<string, { description: string }> = {};
  const address = segments
    .map((s) => {
      if (s !== "*") return s;
      const name = n++ === 0 ? "job_id" : `segment_${n}`;
      parameters[name] = { description: "The id of the job the event is about." };
      return `{${name}}`;
    })
    .join(".");
  return { address, parameters };
}

function payloadSchema(def: EventDef): JsonSchema {
  const schema = z.toJSONSchema(def.schema, { io: "output", target: "draft-7" }) as JsonSchema;
  delete schema.$schema;
  return schema;
}

export function buildAsyncApiDocument(): AsyncApiDocument {
  const doc: AsyncApiDocument = {
    asyncapi: ASYNCAPI_VERSION,
    info: { title: "Asgard events", version: EVENTS_API_VERSION, description: EVENTS_INTRODUCTION },
    defaultContentType: "application/json",
    servers: {
      nats: {
        host: "localhost:4222",
        protocol: "nats",
        description: "The deployment's NATS server with JetStream; the public events live on the streams each channel names.",
      },
    },
    channels: {},
    operations: {},
    components: { messages: {} },
  };
  for (const [key, def] of Object.entries(EVENTS) as Array<[string, EventDef]>) {
    if (!def.public) continue;
    const name = messageName(key);
    doc.components.messages[name] = {
      name,
      title: def.subject,
      summary: def.description,
      contentType: "application/json",
      headers: HEADERS,
      payload: payloadSchema(def),
      "x-schema-version": def.schemaVersion,
    };
    doc.channels[key] = {
      ...addressOf(def),
      description: def.description,
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
      "x-asgard-stream": { name: def.stream.name, retention: def.stream.retention, storage: def.stream.storage },
    };
    doc.operations[`send${name}`] = {
      action: "send",
      channel: { $ref: `#/channels/${key}` },
      messages: [{ $ref: `#/channels/${key}/messages/${name}` }],
      summary: `The platform publishes ${def.subject}.`,
    };
  }
  return doc;
}
