import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from "fastify";
import { ROUTES, toFastifyPath } from "@asgard/contracts";
import { HttpError } from "../http-errors.js";
import { LOCAL_CALLER_ID, type LimitSettings } from "./settings.js";

/** A client refused a stream is told to try again after this long (a slot frees when any stream of the key ends). */
const RETRY_AFTER_SECONDS = 5;

/**
 * Concurrent log streams (`GET …/logs`, Server-Sent Events) per key, on this replica. A
 * stream holds its slot until its response ends: the job ended, the client went away, or the
 * gateway closes. Answers that are not streams (404, 422, 204) free the slot as they finish.
 */
export function limitLogStreams(app: FastifyInstance, settings: LimitSettings, opts: { onRefused?: () => void } = {}): void {
  const open = new Map<string, number>();
  const path = toFastifyPath(ROUTES.streamJobLogs.path);

  const take: onRequestHookHandler = (req, reply, done) => {
    if (req.apiKey?.limits_exempt === true) return done();
    const caller = req.apiKey?.id ?? LOCAL_CALLER_ID;
    const max = req.apiKey ? settings.logStreamsPerKey : settings.localLogStreams;
    const held = open.get(caller) ?? 0;
    if (held >= max) {
      opts.onRefused?.();
      return done(new HttpError("LIMIT_EXCEEDED", refusal(req, max), { retryAfterSeconds: RETRY_AFTER_SECONDS }));
    }
    open.set(caller, held + 1);
    holdUntilEnd(reply, () => {
      const left = (open.get(caller) ?? 1) - 1;
      if (left > 0) open.set(caller, left);
      else open.delete(caller);
    });
    done();
  };

  app.addHook("onRoute", (route: RouteOptions) => {
    if (route.url !== path || route.method !== "GET") return;
    route.onRequest = [...(Array.isArray(route.onRequest) ? route.onRequest : route.onRequest ? [route.onRequest] : []), take];
  });
}

function holdUntilEnd(reply: FastifyReply, free: () => void): void {
  let freed = false;
  const once = () => {
    if (freed) return;
    freed = true;
    free();
  };
  reply.raw.once("close", once);
  reply.raw.once("finish", once);
}

function refusal(req: FastifyRequest, max: number): string {
  const who = req.apiKey ? `the API key ${req.apiKey.id} may follow` : "clients of this machine (local mode, no API key) may follow";
  return (
    `too many log streams (concurrent log streams per key): ${who} at most ${max} job logs at once on this gateway replica; ` +
    `a stream frees its slot when its job ends or its client disconnects: close one, or retry after ${RETRY_AFTER_SECONDS} s`
  );
}
