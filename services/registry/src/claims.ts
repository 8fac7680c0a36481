import { BusError, type Bus } from "@asgard/bus";
import { EVENTS, subjectOf, type Tenant } from "@asgard/contracts";
import { claimToken } from "./event-ids.js";

/** Outcome of a claim: taken by this replica (at `at`, ms), or held by another delivery. */
export type ClaimResult = { claimed: true; at: number } | { claimed: false };

/**
 * Claims on automatic registrations, one per job, so that two deliveries of a job's
 * run.completed (a redelivery, a double publish, two replicas) never both create a version.
 *
 * A claim is the first message on the job's subject of the claim stream, published with
 * `Nats-Expected-Last-Subject-Sequence: 0` — the header NATS KV's create-only `create()` uses:
 * the server refuses the write once the subject holds a message. The stream's max age is the
 * lease: a replica that died holding a claim frees it after that.
 */
export interface JobClaims {
  /** Claims the registration of the tenant's job (the claim subject is keyed by both). */
  claim(tenant: Tenant, jobId: string): Promise<ClaimResult>;
}

/** JetStream's "wrong last sequence" API error code. */
const WRONG_LAST_SEQUENCE = 10071;

function isWrongLastSequence(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if ((current as { code?: unknown }).code === WRONG_LAST_SEQUENCE || /wrong last sequence/i.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

export function createJobClaims(deps: { bus: Bus; instanceId: string }): JobClaims {
  return {
    async claim(tenant, jobId) {
      const at = Date.now();
      try {
        await deps.bus.publish(
          EVENTS.registrationClaim,
          { tenant, job_id: jobId, holder: deps.instanceId, claimed_at: new Date(at).toISOString() },
          { subject: subjectOf(EVENTS.registrationClaim, claimToken(tenant, jobId)), headers: { "Nats-Expected-Last-Subject-Sequence": "0" } },
        );
        return { claimed: true, at };
      } catch (err) {
        if (isWrongLastSequence(err)) return { claimed: false };
        // The claim stream not answering is NATS trouble: worth another try, never a failed job.
        throw new BusError("UNAVAILABLE", `claiming the registration of job ${jobId}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
  };
}
