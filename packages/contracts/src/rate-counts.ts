import { z } from "zod";

/**
 * One gateway replica's request counts in the current rate-limit window, per counted caller
 * (an API key's id, or `local` in local mode). Replicas count in the same fixed windows
 * (aligned to the epoch), so a replica adds every other replica's counts of its own window.
 */
export const RateCountsSchema = z.object({
  replica: z.string().min(1).max(200),
  window_ms: z.number().int().positive(),
  /** Start of the window, in milliseconds since the epoch (a multiple of `window_ms`). */
  window_start: z.number().int().nonnegative(),
  counts: z.record(z.string().max(64), z.number().int().nonnegative()),
  published_at: z.iso.datetime(),
});
export type RateCounts = z.infer<typeof RateCountsSchema>;
