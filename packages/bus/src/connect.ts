import { natsInboxPrefix } from "@asgard/contracts";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { backoffDelayMs, sleep } from "@asgard/retry";
import { CONNECT_BACKOFF } from "./backoff.js";
import { createBus, type Bus } from "./bus.js";
import { BusError, describeError } from "./errors.js";
import { consoleLogger } from "./logger.js";
import type { BusLogger, BusOptions } from "./types.js";

/** Pause between reconnect attempts once connected; jitter spreads a fleet restarted together. */
const RECONNECT_TIME_WAIT_MS = 1_000;
const RECONNECT_JITTER_MS = 500;
/** Ping every 20 s, give up after 3 unanswered: a half-open link is noticed within a minute. */
const PING_INTERVAL_MS = 20_000;
const MAX_PINGS_OUT = 3;
/** Longest wait of one connect attempt (TCP + handshake). */
const ATTEMPT_TIMEOUT_MS = 5_000;

/**
 * Connects to NATS and returns the bus. The first connect is retried with capped exponential
 * backoff until it works, `connectTimeoutMs` passes or `signal` aborts (BusError UNAVAILABLE);
 * after that the connection reconnects forever on its own.
 */
export async function connectBus(opts: BusOptions): Promise<Bus> {
  const logger = opts.logger ?? consoleLogger;
  const replicas = opts.streamReplicas;
  // Checked before connecting: JetStream allows 1 to 5 replicas.
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)) {
    throw new BusError("INTERNAL", `streamReplicas must be a whole number from 1 to 5, got ${replicas}`);
  }
  if ((opts.user === undefined) !== (opts.pass === undefined)) throw new BusError("INTERNAL", "NATS user and password go together");
  const nc = await firstConnect(opts, logger);
  const inboxPrefix = opts.user === undefined ? undefined : natsInboxPrefix(opts.user);
  return createBus(nc, opts.name, logger, { streamReplicas: opts.streamReplicas, inboxPrefix });
}

async function firstConnect(opts: BusOptions, logger: BusLogger): Promise<NatsConnection> {
  const servers = opts.servers.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  const started = Date.now();
  const deadline = opts.connectTimeoutMs === undefined ? Infinity : started + opts.connectTimeoutMs;
  const fields = { bus: opts.name, servers };
  let attempt = 0;
  for (;;) {
    if (opts.signal?.aborted) throw new BusError("UNAVAILABLE", "connecting to NATS was aborted");
    attempt++;
    try {
      const nc = await connect({
        servers,
        name: opts.name,
        // The bus's reply inbox (reply-inbox.ts) uses the same prefix: the user may subscribe only there.
        ...(opts.user === undefined ? {} : { user: opts.user, pass: opts.pass, inboxPrefix: natsInboxPrefix(opts.user) }),
        maxReconnectAttempts: -1,
        reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
        reconnectJitter: RECONNECT_JITTER_MS,
        pingInterval: PING_INTERVAL_MS,
        maxPingOut: MAX_PINGS_OUT,
        timeout: Math.max(100, Math.min(ATTEMPT_TIMEOUT_MS, deadline - Date.now())),
        // Otherwise nats.js captures a stack (an Error) for every request in case it fails; our
        // BusErrors already name the subject and the timeout, which is what that trace adds.
        noAsyncTraces: true,
      });
      logger.info({ ...fields, server: nc.getServer(), attempts: attempt }, "connected to NATS");
      return nc;
    } catch (err) {
      if (err instanceof Error && err.name === "InvalidArgumentError") {
        throw new BusError("INTERNAL", `invalid NATS connection options: ${err.message}`, { cause: err });
      }
      // Wrong or missing credentials do not get better with retries: stop with the reason.
      if (err instanceof Error && err.name === "AuthorizationError") {
        const who = opts.user === undefined ? "a connection without credentials" : `user ${opts.user}`;
        throw new BusError("INTERNAL", `NATS at ${servers.join(",")} refused ${who}: ${err.message}`, { cause: err });
      }
      // Once, not per attempt: a service waiting for NATS at start-up should not flood its log.
      if (attempt === 1) logger.warn({ ...fields, err }, "NATS is not reachable yet; retrying");
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new BusError(
          "UNAVAILABLE",
          `could not connect to NATS at ${servers.join(",")} within ${opts.connectTimeoutMs} ms: ${describeError(err)}`,
          { cause: err },
        );
      }
      // The last wait is cut short so one attempt is made right at the deadline.
      await sleep(Math.min(backoffDelayMs(attempt, CONNECT_BACKOFF), remaining), opts.signal);
    }
  }
}
