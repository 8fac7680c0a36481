import { z } from "zod";
import { EXTRA_COMPONENTS, ROUTE_LIST, ROUTE_TAGS, type HeaderDef, type NamedSchema, type ResponseDef, type RouteDef } from "../http/routes.js";
import { ErrorBodySchema } from "../errors.js";

/** A JSON Schema object as it appears in the document. */
export type JsonSchemaObject = Record<string, unknown>;

/** Title, version and description of the document. */
export interface OpenApiInfo {
  title?: string;
  version?: string;
  description?: string;
}

/** The parts of an OpenAPI 3.1 document this builder writes. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, JsonSchemaObject>>;
  components: { schemas: Record<string, JsonSchemaObject> };
}

const COMPONENT_PREFIX = "#/components/schemas/";
const ERROR_COMPONENT: NamedSchema = { name: "ErrorBody", schema: ErrorBodySchema };

const DEFAULT_INFO = {
  title: "Asgard MLOps API",
  version: "1.0.0",
  description:
    "Upload a Python training script, get a tracked MLflow run, a registered model and predictions over HTTP. " +
    "Operations marked `x-asgard-surface: compatible` keep the original API's fields, statuses and leniency " +
    "(unknown body fields are ignored and listed in `warnings`); `extension` operations are ours and refuse unknown fields. " +
    "Every 4xx/5xx answer is an ErrorBody whose `issues` name the fields to fix.",
};

/** Requests are documented as clients send them, responses as servers send them. */
type Direction = "input" | "output";

function collectComponents(): Record<Direction, Map<string, z.ZodType>> {
  const found: Record<Direction, Map<string, z.ZodType>> = { input: new Map(), output: new Map() };
  const add = (dir: Direction, named: NamedSchema) => {
    const other = dir === "input" ? found.output : found.input;
    const known = found[dir].get(named.name) ?? other.get(named.name);
    if (known && known !== named.schema) throw new Error(`OpenAPI component "${named.name}" names two different schemas`);
    if (other.has(named.name)) throw new Error(`OpenAPI component "${named.name}" is used as both a request and a response`);
    found[dir].set(named.name, named.schema);
  };
  add("output", ERROR_COMPONENT);
  for (const c of EXTRA_COMPONENTS) add("output", c);
  for (const route of ROUTE_LIST) {
    if (route.body) add("input", route.body);
    for (const res of Object.values(route.responses)) if (res.body) add("output", res.body);
  }
  return found;
}

function stripRoot(schema: JsonSchemaObject): JsonSchemaObject {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

type OverrideContext = { zodSchema: unknown; jsonSchema: JsonSchemaObject };

/**
 * Drops what only clutters the docs: zod's date-time regex (the `format` says it) and the
 * ±2^53 bounds every `.int()` carries.
 */
function tidy(jsonSchema: JsonSchemaObject): void {
  if (jsonSchema.format === "date-time") delete jsonSchema.pattern;
  if (jsonSchema.type === "integer") {
    if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  }
}

/** Responses may gain fields (changes are additive): do not tell clients to refuse unknown ones. */
function relaxObjects({ jsonSchema }: OverrideContext): void {
  tidy(jsonSchema);
  if (jsonSchema.additionalProperties === false) delete jsonSchema.additionalProperties;
}

/**
 * zod drops `examples` and `default` from transforming schemas in input mode (they could
 * describe the output). Ours describe the wire form on purpose, so they are put back.
 */
function restoreExamples({ zodSchema, jsonSchema }: OverrideContext): void {
  tidy(jsonSchema);
  const meta = z.globalRegistry.get(zodSchema as z.ZodType) as JsonSchemaObject | undefined;
  if (!meta) return;
  if (meta.examples !== undefined) jsonSchema.examples = meta.examples;
  if (meta.default !== undefined) jsonSchema.default = meta.default;
}

function componentSchemas(schemas: Map<string, z.ZodType>, io: Direction): Record<string, JsonSchemaObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of schemas) registry.add(schema, { id });
  const { schemas: converted } = z.toJSONSchema(registry, {
    io,
    target: "draft-2020-12",
    unrepresentable: "any",
    uri: (id) => `${COMPONENT_PREFIX}${id}`,
    // Responses may gain fields (changes are additive): do not tell clients to refuse them.
    override: io === "output" ? relaxObjects : restoreExamples,
  });
  const out: Record<string, JsonSchemaObject> = {};
  for (const [id, schema] of Object.entries(converted)) out[id] = stripRoot(schema as JsonSchemaObject);
  return out;
}

function inlineSchema(schema: z.ZodType): JsonSchemaObject {
  return stripRoot(z.toJSONSchema(schema, { io: "input", target: "draft-2020-12", unrepresentable: "any", override: restoreExamples }) as JsonSchemaObject);
}

const ref = (named: NamedSchema) => ({ $ref: `${COMPONENT_PREFIX}${named.name}` });

function parameters(route: RouteDef): JsonSchemaObject[] {
  const out: JsonSchemaObject[] = [];
  const fromObject = (where: "path" | "query", obj: z.ZodObject | undefined) => {
    if (!obj) return;
    for (const [name, field] of Object.entries(obj.shape as Record<string, z.ZodType>)) {
      const { description, ...schema } = inlineSchema(field);
      out.push({
        name,
        in: where,
        required: where === "path" ? true : !field.safeParse(undefined).success,
        ...(typeof description === "string" ? { description } : {}),
        schema,
      });
    }
  };
  fromObject("path", route.params);
  fromObject("query", route.query);
  for (const [name, header] of Object.entries(route.headers ?? {})) {
    out.push({ name, in: "header", required: header.required ?? false, description: header.description, schema: inlineSchema(header.schema) });
  }
  return out;
}

function headersObject(headers: Readonly<Record<string, HeaderDef>> | undefined): JsonSchemaObject | undefined {
  if (!headers) return undefined;
  return Object.fromEntries(Object.entries(headers).map(([name, h]) => [name, { description: h.description, required: h.required ?? false, schema: inlineSchema(h.schema) }]));
}

function response(status: number, res: ResponseDef): JsonSchemaObject {
  const body = res.body ?? (status >= 400 && !res.raw ? ERROR_COMPONENT : undefined);
  const content = body
    ? { "application/json": { schema: ref(body) } }
    : res.raw
      ? { [res.raw.contentType]: { schema: res.raw.schema } }
      : undefined;
  const headers = headersObject(res.headers);
  return { description: res.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
}

const RETRY_AFTER: HeaderDef = { description: "Seconds to wait before retrying.", schema: z.number().int().nonnegative() };

/**
 * What every route behind the keys may answer besides its own statuses (a route that lists
 * one of them itself keeps its own description).
 */
function accessResponses(): Record<string, JsonSchemaObject> {
  return {
    "401": response(401, { description: "Once API keys exist: no key, or a key that is unknown, expired or revoked (the message says which and how to send one)." }),
    "403": response(403, { description: "The key lacks a scope this route needs (the message names them), or acts for another tenant." }),
    "429": response(429, {
      description: "A per-key limit was reached: the request rate, or on the log stream the concurrent streams; the message names the limit and its value.",
      headers: { "Retry-After": RETRY_AFTER },
    }),
  };
}

function operation(route: RouteDef): JsonSchemaObject {
  const responses: Record<string, JsonSchemaObject> = {};
  for (const [status, res] of Object.entries(route.responses)) responses[status] = response(Number(status), res);
  if (route.access !== "public") Object.assign(responses, { ...accessResponses(), ...responses });
  // Any route can fail unexpectedly; that answer is an ErrorBody too.
  responses["500"] ??= response(500, { description: "Unexpected error (a bug); the body never carries internal details." });
  const params = parameters(route);
  return {
    operationId: route.id,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [...route.tags],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: ref(route.body) } } } } : {}),
    responses,
    "x-asgard-surface": route.surface,
  };
}

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route catalog: one
 * component per named request/response schema, an ErrorBody on every 4xx/5xx answer.
 */
export function buildOpenApiDocument(info: OpenApiInfo = {}): OpenApiDocument {
  const components = collectComponents();
  const schemas = { ...componentSchemas(components.output, "output"), ...componentSchemas(components.input, "input") };
  const paths: OpenApiDocument["paths"] = {};
  for (const route of ROUTE_LIST) {
    const item = (paths[route.path] ??= {});
    item[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: info.title ?? DEFAULT_INFO.title,
      version: info.version ?? DEFAULT_INFO.version,
      description: info.description ?? DEFAULT_INFO.description,
    },
    tags: Object.entries(ROUTE_TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: { schemas },
  };
}
