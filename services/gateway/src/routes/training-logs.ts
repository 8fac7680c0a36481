import type { FastifyInstance } from "fastify";
import { RPC, ROUTES, parseLogStreamQuery, toFastifyPath } from "@asgard/contracts";
import { traceFields, type Logger } from "@asgard/telemetry";
import { connectedBus, type BusRef } from "../bus-ref.js";
import { jobRef } from "../job-ref.js";
import { pumpJobLogs } from "../log-stream.js";
import { queryObject } from "../query-object.js";
import { SseSink } from "../sse.js";
import { requestTrace, traced } from "../trace.js";
import type { TrainingMetrics } from "../training-metrics.js";
import type { LogStreamOptions } from "../training-options.js";

interface OpenStream {
  abort: AbortController;
  sink: SseSink;
  /** Settles once the response is finished or its connection closed. */
  finished: Promise<void>;
}

/**
 * `GET /mlops/training/jobs/{job_id}/logs`: the job's output as Server-Sent Events. Problems
 * found before the stream starts (bad offset, unknown job, scheduler down) are ordinary JSON
 * answers; after that the stream only ends (`event: end`, the client leaving, or shutdown).
 */
export function trainingLogRoutes(
  app: FastifyInstance,
  opts: { bus: BusRef; options: LogStreamOptions; metrics: TrainingMetrics; logger: Logger },
): void {
  const streams = new Set<OpenStream>();
  // An open stream holds server.close(), and a connection that turns idle only after close()
  // began stays open until its keep-alive timeout: end every stream and wait for the responses
  // to finish first. EventSource clients reconnect (to another replica) with Last-Event-ID.
  app.addHook("preClose", async () => {
    const open = [...streams];
    for (const stream of open) {
      stream.abort.abort();
      stream.sink.end();
    }
    await Promise.all(open.map((stream) => stream.finished));
  });

  app.get<{ Params: { job_id: string } }>(toFastifyPath(ROUTES.streamJobLogs.path), {
    // Fastify's automatic HEAD would start a stream nobody reads; HEAD gets a 405 instead.
    exposeHeadRoute: false,
    handler: async (req, reply) => {
      const lastEventId = lastValue(req.headers["last-event-id"]);
      const query = parseLogStreamQuery(queryObject(req.query), lastEventId);
      if (!query.ok) return reply.code(query.status).send(query.body);
      const ref = jobRef(req, req.params.job_id);
      const bus = connectedBus(opts.bus);
      const offset = query.value.offset;
      const tracedOpts = traced(req);
      const first = await bus.request(RPC.getJobLogs, { ...ref, offset, limit: opts.options.pageSize }, tracedOpts);
      // An EventSource reconnects whenever a stream closes, also after `end`; a 204 is the one
      // answer that makes it stop, so a reconnect that has nothing left to receive gets it.
      if (lastEventId !== undefined && first.complete && first.lines.length === 0) return reply.code(204).send();

      const sink = new SseSink();
      const abort = new AbortController();
      const finished = new Promise<void>((resolve) => {
        reply.raw.once("close", resolve);
        reply.raw.once("finish", resolve);
      });
      const stream: OpenStream = { abort, sink, finished };
      streams.add(stream);
      opts.metrics.logStreamsOpen.inc();
      // Whichever comes first: Fastify destroying the stream, or the response itself closing.
      void sink.closed.then(() => abort.abort());
      void finished.then(() => abort.abort());
      void sink.retry(opts.options.retryMs);
      const logger = opts.logger.child(traceFields(requestTrace(req)));
      void pumpJobLogs({ bus, ref, offset, first, sink, signal: abort.signal, options: opts.options, logger, requestOptions: tracedOpts })
        .catch((err: unknown) => logger.error({ err, job_id: ref.job_id }, "log stream failed"))
        .finally(() => {
          streams.delete(stream);
          opts.metrics.logStreamsOpen.dec();
          sink.end();
        });

      return reply
        .code(200)
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        // nginx buffers proxied responses unless told not to; a log line must reach the client at once.
        .header("x-accel-buffering", "no")
        .send(sink.stream);
    },
  });
}

function lastValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[header.length - 1] : header;
}
