import type { FastifyInstance } from "fastify";

interface KnownRoute {
  pattern: RegExp;
  methods: Set<string>;
}

/**
 * Records every route's path so that a request whose path exists under another method
 * gets 405 with `Allow`, and anything else a JSON 404 — never Fastify's HTML or a bare 404.
 */
export function trackRoutes(app: FastifyInstance): { allowedMethods(path: string): string[] } {
  const routes = new Map<string, KnownRoute>();
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const key = route.url;
    const known = routes.get(key) ?? { pattern: toRegExp(route.url), methods: new Set<string>() };
    for (const m of methods) known.methods.add(m.toUpperCase());
    routes.set(key, known);
  });
  return {
    allowedMethods(path: string) {
      const allowed = new Set<string>();
      for (const r of routes.values()) if (r.pattern.test(path)) for (const m of r.methods) allowed.add(m);
      return [...allowed].sort();
    },
  };
}

function toRegExp(url: string): RegExp {
  const escaped = url
    .split("/")
    .map((segment) => {
      if (segment.startsWith(":")) return "[^/]+";
      if (segment === "*") return ".*";
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${escaped}/?$`);
}
