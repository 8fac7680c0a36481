import type { FastifyInstance, FastifyRequest } from "fastify";
import { isLoopbackBind, LOOPBACK_NAMES } from "@asgard/config";
import { HttpError } from "./http-errors.js";

export { isLoopbackBind };

/**
 * Local mode: the gateway bound to loopback with no API keys, so that `npm start` on a
 * laptop serves the original API's clients unchanged. Loopback alone is not enough: any web
 * page the developer visits can send requests to localhost (a CORS "simple request" needs no
 * preflight), and a rebinding DNS name can make the browser treat the gateway as that page's
 * own origin. So local mode answers only requests addressed to a loopback name and refuses
 * what only a browser on a foreign page sends.
 */

/** The host part of a Host header or URL authority (`name`, `name:port`, `[v6]:port`). */
function hostName(authority: string): string {
  const v6 = /^(\[[^\]]*\])(:\d+)?$/.exec(authority);
  if (v6) return v6[1] ?? "";
  return authority.replace(/:\d+$/, "");
}

export function isLoopbackHost(authority: string | undefined): boolean {
  return authority !== undefined && LOOPBACK_NAMES.test(hostName(authority.trim()));
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && isLoopbackHost(url.host);
  } catch {
    return false;
  }
}

const JSON_TYPE = /^\s*application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

function hasBody(req: FastifyRequest): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

const shown = (value: string) => JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);

/** Why local mode refuses this request, or null when it may go on. */
export function localModeRefusal(req: FastifyRequest): HttpError | null {
  const host = req.headers.host;
  if (!isLoopbackHost(host)) {
    return new HttpError(
      "FORBIDDEN",
      `Host ${shown(host ?? "")} is not a loopback name: without API keys the gateway answers only requests addressed to localhost, 127.0.0.1 or [::1]; configure API keys to serve it under other names`,
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return new HttpError(
      "FORBIDDEN",
      `cross-site request refused: Origin ${shown(origin)} is not this machine; without API keys only local clients (scripts, curl, pages served from localhost) may call the API`,
    );
  }
  if (req.headers["sec-fetch-site"] === "cross-site") {
    return new HttpError("FORBIDDEN", "cross-site request refused: a page of another site sent it; call the API from a script or from a page served from localhost");
  }
  const type = req.headers["content-type"];
  if (hasBody(req) && (type === undefined || !JSON_TYPE.test(type))) {
    return new HttpError(
      "BAD_REQUEST",
      `${type === undefined ? "a request body without Content-Type" : `Content-Type ${shown(type)}`} is not accepted: send JSON with Content-Type: application/json (requests.post(url, json=…) does)`,
      { status: 415 },
    );
  }
  return null;
}

/** Installs the local-mode checks in front of every route. */
export function enforceLocalMode(app: FastifyInstance): void {
  app.addHook("onRequest", (req, _reply, done) => {
    done(localModeRefusal(req) ?? undefined);
  });
}
