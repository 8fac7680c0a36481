import { isIP } from "node:net";
import { z } from "zod";

/** Environment fields that depend on where a service is deployed rather than on the service. */

/** Largest replica count JetStream allows for a stream. */
export const MAX_STREAM_REPLICAS = 5;

// A host name per RFC 1123 (labels of letters, digits and inner hyphens).
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * The address a service's `/metrics` listener binds. Loopback by default so a developer's
 * machine exposes nothing; containers set 0.0.0.0 so Prometheus can scrape the pod.
 */
export const metricsHost = () =>
  z
    .string()
    .trim()
    .optional()
    // Empty counts as unset, as compose's `${VAR:-}` passes it.
    .transform((v) => v || "127.0.0.1")
    .pipe(z.string().refine((v) => isIP(v) !== 0 || HOST_NAME.test(v), "an IP address or host name"))
    .describe(
      "address this service's /metrics endpoint binds: an IP address or host name (default 127.0.0.1; containers set 0.0.0.0 so Prometheus can scrape it)",
    );

/**
 * Replicas of every JetStream stream a service declares. 1 fits a single server; a cluster
 * sets its size (at most 5) in every service alike, or the services would keep changing
 * each other's declaration.
 */
export const streamReplicas = () =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_STREAM_REPLICAS)
    .default(1)
    .describe(
      `replicas of each JetStream stream this service declares: 1 to ${MAX_STREAM_REPLICAS}, at most the NATS cluster's size, the same in every service (default 1)`,
    );
