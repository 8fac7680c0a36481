import type { FastifyInstance, FastifyRequest } from "fastify";
import { HttpError } from "./http-errors.js";

/**
 * Deepest nesting of arrays and objects a request body may have. The deepest body the API
 * defines is an MLflow tensor under `instances`/`inputs` (a batch of images is 4 levels);
 * 32 leaves room for any real payload. Deeper bodies are refused before they are parsed:
 * every recursive walk after parsing (JSON.stringify onto the bus among them) would
 * otherwise overflow the stack on a body nested a few thousand levels deep.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * The nesting depth of a JSON text, or of the first `limit + 1` levels of it: a single pass
 * over the characters that skips string literals, so it costs no more than the parse itself
 * and cannot overflow however deep the text goes. Malformed text is left to the parser.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}

type Done = (err: Error | null, body?: unknown) => void;
export type JsonBodyParser = (req: FastifyRequest, body: string, done: Done) => void;

/**
 * Fastify's own JSON parser (which refuses `__proto__` and `constructor.prototype` keys)
 * behind the depth limit. Every route that reads JSON goes through this one parser.
 */
export function depthCheckedJsonParser(app: FastifyInstance): JsonBodyParser {
  const parse = app.getDefaultJsonParser("error", "error");
  return (req, body, done) => {
    if (jsonDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      done(
        new HttpError(
          "BAD_REQUEST",
          `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; send a flatter JSON body (no field of the API needs more)`,
        ),
      );
      return;
    }
    void parse(req, body, done);
  };
}

/** Replaces Fastify's JSON parser with the depth-checked one for `application/json`. */
export function useDepthCheckedJson(app: FastifyInstance): JsonBodyParser {
  const parser = depthCheckedJsonParser(app);
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) =>
    parser(req, typeof body === "string" ? body : body.toString("utf8"), done),
  );
  return parser;
}
