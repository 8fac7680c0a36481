import { backoffDelayMs, type BackoffPolicy } from "@asgard/retry";

/** Waiting between first-connect attempts: quick at first, then every 5 s (±20 %). */
export const CONNECT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5_000, jitter: { spread: 0.2 } };
/** Delay of a nak after a handler threw: gives a transient fault time to clear, at most a minute. */
export const NAK_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000 };
/** Pause of a consumer loop or watcher after a failed pull before it tries again (±20 %). */
export const LOOP_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5_000, jitter: { spread: 0.2 } };
/**
 * Between looks for a stream another service owns: a stream info is cheap, and a service
 * that starts before the owner should follow it within a second, not five.
 */
export const AWAIT_STREAM_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 1_000, jitter: { spread: 0.2 } };

/** The nak delay for a message delivered `deliveryCount` times whose handler failed. */
export function nakDelayMs(deliveryCount: number): number {
  return backoffDelayMs(deliveryCount, NAK_BACKOFF);
}
