import Fastify, { LogController } from "fastify";
import { describe, expect, it } from "vitest";
import { createLogger } from "@asgard/telemetry";
import { RequestLogger, tracedChildLogger } from "./trace.js";

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("request loggers", () => {
  it("make their child logger only when a request logs", () => {
    const lines: Record<string, unknown>[] = [];
    const base = createLogger("gateway", "info", { write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    let made = 0;
    const log = new RequestLogger(() => {
      made++;
      return base.child({ reqId: "req-1" });
    });
    expect(made).toBe(0);
    log.debug("below the level");
    expect(made).toBe(1);
    log.info({ password: "hunter2", n: 1 }, "first %s", "line");
    log.warn("second");
    expect(made).toBe(1);
    expect(lines).toMatchObject([
      { level: 30, reqId: "req-1", n: 1, password: "[redacted]", msg: "first line" },
      { level: 40, reqId: "req-1", msg: "second" },
    ]);
    expect(log.level).toBe("info");
    expect(log.child({ extra: true })).toBeDefined();
  });

  it("bind the request's trace into every line a route writes", async () => {
    const lines: Record<string, unknown>[] = [];
    const app = Fastify({
      loggerInstance: createLogger("gateway", "info", { write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) }),
      logController: new LogController({ disableRequestLogging: true }),
      childLoggerFactory: tracedChildLogger,
    });
    app.get("/quiet", async () => ({ ok: true }));
    app.get("/loud", async (req) => {
      req.log.info({ authorization: "Bearer secret" }, "route line");
      return { ok: true };
    });
    expect((await app.inject({ url: "/quiet", headers: { traceparent: TRACEPARENT } })).statusCode).toBe(200);
    expect(lines).toEqual([]);
    expect((await app.inject({ url: "/loud", headers: { traceparent: TRACEPARENT } })).statusCode).toBe(200);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: "route line", trace_id: "0af7651916cd43dd8448eb211c80319c", span_id: expect.stringMatching(/^[0-9a-f]{16}$/), authorization: "[redacted]", reqId: expect.any(String) });
    expect(lines[0]?.span_id).not.toBe("b7ad6b7169203331");
    await app.close();
  });
});
