import type { FastifyInstance, FastifyRequest } from "fastify";
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import { ROUTE_LIST, toFastifyPath } from "@asgard/contracts";
import { HttpError } from "../http-errors.js";
import type { RateWindows } from "./rate-windows.js";
import { LOCAL_CALLER_ID, type LimitSettings } from "./settings.js";

const PUBLIC_ROUTES = new Set(ROUTE_LIST.filter((r) => r.access === "public").map((r) => toFastifyPath(r.path)));

/**
 * The per-key request rate, through @fastify/rate-limit with a store over `windows`: a
 * request is counted and checked in memory; the other replicas' counts reach `windows` in
 * the background (rate-sharing.ts). Runs after authentication (its hook is the route's own,
 * after the app-wide ones), so it counts per key; `/healthz` and `/readyz` are never limited.
 */
export async function enforceRateLimit(
  app: FastifyInstance,
  opts: { settings: LimitSettings; windows: RateWindows; onRefused?: () => void },
): Promise<void> {
  const { settings, windows } = opts;
  const perMinute = (req: FastifyRequest) => (req.apiKey ? (req.apiKey.rate_limit_per_minute ?? settings.ratePerMinute) : settings.localRatePerMinute);
  const perWindow = (req: FastifyRequest) => Math.max(1, Math.ceil((perMinute(req) * windows.windowMs) / 60_000));

  await app.register(rateLimit, {
    global: true,
    hook: "onRequest",
    timeWindow: windows.windowMs,
    store: sharedStore(windows),
    keyGenerator: (req) => req.apiKey?.id ?? LOCAL_CALLER_ID,
    allowList: (req) => req.apiKey?.limits_exempt === true || PUBLIC_ROUTES.has(req.routeOptions.url ?? ""),
    max: (req) => perWindow(req),
    errorResponseBuilder: (req, context) => {
      opts.onRefused?.();
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
      return new HttpError("LIMIT_EXCEEDED", exceeded(req, perMinute(req), windows.windowMs / 1000, retryAfter), { retryAfterSeconds: retryAfter });
    },
  });
}

function exceeded(req: FastifyRequest, perMinute: number, windowSeconds: number, retryAfter: number): string {
  const who = req.apiKey
    ? `the API key ${req.apiKey.id} may make ${perMinute} requests per minute`
    : `clients of this machine (local mode, no API key) may make ${perMinute} requests per minute together`;
  return (
    `rate limit reached (per-key request rate): ${who}, counted across every gateway replica in ${windowSeconds}-second windows; ` +
    `retry after ${retryAfter} s (Retry-After), or ask an admin for a key with a higher rate_limit_per_minute`
  );
}

/** A store class over the replica's shared windows (the plugin instantiates it with its options). */
function sharedStore(windows: RateWindows): FastifyRateLimitStoreCtor {
  return class SharedWindowStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void): void {
      callback(null, windows.hit(key, Date.now()));
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}
