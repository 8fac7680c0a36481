import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { ROUTE_LIST, ROUTES, toFastifyPath } from "../http/routes.js";
import { buildOpenApiDocument } from "./build.js";

const doc = buildOpenApiDocument();

/** Every `$ref` in the document, with where it was found. */
function collectRefs(node: unknown, at: string, out: { ref: string; at: string }[] = []): { ref: string; at: string }[] {
  if (Array.isArray(node)) node.forEach((child, i) => collectRefs(child, `${at}/${i}`, out));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") out.push({ ref: value, at });
      else collectRefs(value, `${at}/${key}`, out);
    }
  }
  return out;
}

function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (!node || typeof node !== "object" || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

type Operation = { operationId: string; parameters?: { name: string; in: string }[]; responses: Record<string, { description?: string; content?: Record<string, { schema?: { $ref?: string } }> }> };

const operations = (): [string, string, Operation][] =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => [path, method, op as unknown as Operation] as [string, string, Operation]));

describe("buildOpenApiDocument", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it("resolves every $ref inside the document", () => {
    const refs = collectRefs(doc, "#");
    expect(refs.length).toBeGreaterThan(20);
    for (const { ref, at } of refs) expect(resolvePointer(doc, ref), `${ref} at ${at}`).toBeDefined();
  });

  it("has every route of the catalog, with a unique operation id", () => {
    for (const route of ROUTE_LIST) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()] as Operation | undefined;
      expect(op?.operationId, `${route.method} ${route.path}`).toBe(route.id);
    }
    const ids = operations().map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(ROUTE_LIST.length);
  });

  it("covers the compatible surface and the extensions of the contract", () => {
    const routes = ROUTE_LIST.map((r) => `${r.surface} ${r.method} ${r.path}`);
    expect(routes).toEqual(
      expect.arrayContaining([
        "compatible GET /mlops/status",
        "compatible POST /mlops/training/upload",
        "compatible GET /mlops/training/jobs/{job_id}",
        "compatible POST /mlops/registry",
        "compatible GET /mlops/models",
        "compatible GET /mlops/models/{model_name}",
        "compatible POST /mlops/inference",
        "extension GET /mlops/training/jobs",
        "extension DELETE /mlops/training/jobs/{job_id}",
        "extension GET /mlops/training/jobs/{job_id}/logs",
        "extension GET /mlops/training/jobs/{job_id}/script",
        "extension PUT /mlops/models/{model_name}/aliases/{alias}",
        "extension DELETE /mlops/models/{model_name}/aliases/{alias}",
        "extension POST /mlops/models/{model_name}/versions/{version}/invocations",
        "extension GET /mlops/models/{model_name}/versions/{version}/serving",
        "extension GET /healthz",
        "extension GET /readyz",
        "extension GET /metrics",
        "extension GET /openapi.json",
        "extension GET /docs",
      ]),
    );
  });

  it("describes every response, and answers every 4xx/5xx with an ErrorBody", () => {
    for (const [path, method, op] of operations()) {
      expect(op.responses["500"], `${method} ${path}`).toBeDefined();
      for (const [status, res] of Object.entries(op.responses)) {
        expect(res.description?.trim(), `${method} ${path} ${status}`).toBeTruthy();
        if (Number(status) >= 400 && !(path === "/readyz" && status === "503")) {
          expect(res.content?.["application/json"]?.schema?.$ref, `${method} ${path} ${status}`).toBe("#/components/schemas/ErrorBody");
        }
      }
    }
  });

  it("declares exactly the path parameters each path template names", () => {
    for (const [path, method, op] of operations()) {
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name).sort();
      expect(declared, `${method} ${path}`).toEqual(inTemplate);
    }
  });

  it("documents the upload body as clients send it", () => {
    const upload = doc.components.schemas.UploadRequest as { required: string[]; properties: Record<string, Record<string, unknown>> };
    expect(upload.required.sort()).toEqual(["experiment_name", "model_name", "script_content", "script_name"]);
    expect(Object.keys(upload.properties).sort()).toEqual(["environment_vars", "experiment_name", "model_name", "requirements", "resources", "script_content", "script_name", "tags", "timeout"]);
    expect(upload.properties.timeout?.default).toBe(300);
    expect(upload.properties.script_content?.contentEncoding).toBe("base64");
  });

  it("does not forbid additional response fields (responses only grow)", () => {
    expect(JSON.stringify(doc.components.schemas.Job)).not.toContain('"additionalProperties":false');
  });

  it("is plain JSON and takes the info it is given", () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    expect(buildOpenApiDocument({ title: "T", version: "9.9.9" }).info).toMatchObject({ title: "T", version: "9.9.9" });
  });

  it("gives Fastify paths for the catalog's templates", () => {
    expect(toFastifyPath(ROUTES.setModelAlias.path)).toBe("/mlops/models/:model_name/aliases/:alias");
  });
});
