import type { Bus } from "@asgard/bus";
import { HttpError } from "./http-errors.js";

/**
 * The gateway listens before NATS answers (so `/healthz` and `/readyz` can say how it is);
 * routes reach the bus through this holder, which is filled once the first connect succeeds.
 */
export interface BusRef {
  current: Bus | null;
}

export function connectedBus(ref: BusRef): Bus {
  if (!ref.current) {
    throw new HttpError("UNAVAILABLE", "the gateway is still connecting to NATS; retry shortly", { retryAfterSeconds: 2 });
  }
  return ref.current;
}
