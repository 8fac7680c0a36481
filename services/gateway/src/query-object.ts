/**
 * The parsed query string as a plain object. Fastify's parser builds it on a prototype of
 * its own, which the contracts' parsers (rightly strict about "a JSON object") refuse; a
 * spread copies the parameters, a `__proto__` one included, as plain data.
 */
export function queryObject(query: unknown): Record<string, unknown> {
  return typeof query === "object" && query !== null ? { ...(query as Record<string, unknown>) } : {};
}
