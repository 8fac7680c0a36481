import type { JobScope } from "@asgard/contracts";
import type { JobRow } from "../db/schema.js";

/**
 * Whether a caller may see (and act on) a job: an admin sees every tenant's, anyone else
 * only its own tenant's. Callers answer a job they may not see exactly as a missing one.
 */
export function canSee(scope: JobScope, job: Pick<JobRow, "tenant">): boolean {
  return scope.admin || job.tenant === scope.tenant;
}

/**
 * Why a list filter is refused, or null: a non-admin lists its own tenant only, so naming
 * another tenant is a mistake to point out (it says nothing about that tenant's jobs).
 */
export function listFilterProblem(scope: JobScope, tenant: string | undefined): string | null {
  if (scope.admin || tenant === undefined || tenant === scope.tenant) return null;
  return `this key belongs to the tenant ${JSON.stringify(scope.tenant)} and lists only its jobs: leave out tenant=, or ask with an admin key`;
}
