import { z } from "zod";

/** `GET /healthz`: the process is up (no dependency is consulted). */
export const HealthSchema = z.object({ status: z.literal("ok") });
export type Health = z.infer<typeof HealthSchema>;

/** `GET /readyz`: whether this gateway can serve, with the check behind each answer. */
export const ReadinessSchema = z.object({
  status: z.enum(["ready", "not_ready"]),
  checks: z.record(z.string(), z.boolean()).describe("Check name → passed, e.g. nats, status_snapshot."),
});
export type Readiness = z.infer<typeof ReadinessSchema>;
