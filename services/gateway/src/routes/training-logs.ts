import type { FastifyInstance } from "fastify";
import { RPC, ROUTES, parseLogStreamQuery, toFastifyPath } from "@asgard/contracts";
import type { Logger } from "@asgard/telemetry";
import { connectedBus, type BusRef } from "../bus-ref.js";
import { jobRef } from "../job-ref.js";
import { pumpJobLogs } from "../log-stream.js";
import { SseSink } from "../sse.js";
import type { TrainingMetrics } from "../training-metrics.js";
import type { LogStreamOptions } from "../training-options.js";

/**
 * `GET /mlops/training/jobs/{job_id}/logs`: the job's output as Server-Sent Events. Problems
 * found before the stream starts (bad offset, unknown job, scheduler down) are ordinary JSON
 * answers; after that the stream only ends (`event: end`, the client leaving, or shutdown).
 */
export function trainingLogRoutes(
  app: FastifyInstance,
  opts: { bus: BusRef; options: LogStreamOptions; metrics: TrainingMetrics; logger: Logger },
): void {
  const streams = new Set<AbortController>();
  // Open streams would hold server.close() for ever; ended now, EventSource clients resume elsewhere.
  app.addHook("preClose", async () => {
    for (const stream of streams) stream.abort();
  });

  app.get<{ Params: { job_id: string } }>(toFastifyPath(ROUTES.streamJobLogs.path), async (req, reply) => {
    const query = parseLogStreamQuery(req.query, lastValue(req.headers["last-event-id"]));
    if (!query.ok) return reply.code(query.status).send(query.body);
    const ref = jobRef(req.params.job_id);
    const bus = connectedBus(opts.bus);
    const offset = query.value.offset;
    const first = await bus.request(RPC.getJobLogs, { ...ref, offset, limit: opts.options.pageSize });

    const sink = new SseSink();
    const abort = new AbortController();
    streams.add(abort);
    opts.metrics.logStreamsOpen.inc();
    void sink.closed.then(() => abort.abort());
    void sink.retry(opts.options.retryMs);
    void pumpJobLogs({ bus, jobId: ref.job_id, offset, first, sink, signal: abort.signal, options: opts.options, logger: opts.logger })
      .catch((err: unknown) => opts.logger.error({ err, job_id: ref.job_id }, "log stream failed"))
      .finally(() => {
        streams.delete(abort);
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
  });
}

function lastValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[header.length - 1] : header;
}
