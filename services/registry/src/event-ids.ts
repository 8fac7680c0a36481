import { createHash } from "node:crypto";
import { DEFAULT_TENANT, EVENTS, type Tenant } from "@asgard/contracts";

/**
 * Event ids derived from what the event says, so that every replica (and a restarted one)
 * announcing the same fact gives it the same id: JetStream drops the repeat as a duplicate
 * within the stream's window, and consumers can drop it after that. Each digest starts with
 * its event's subject, so ids of different events never collide.
 *
 * The tenant is part of the fact: the same name and version in two tenants are two facts with
 * two ids (else JetStream would drop the second as a duplicate of the first). The default
 * tenant's ids are those of the release before tenants, so a replica of either release
 * announcing the same version gives it the same id during a rolling upgrade. Another tenant's
 * digest starts with `tenant=<name>` where a default one starts with its subject, so the two
 * never hash the same text, whatever the later parts hold.
 */
function digest(tenant: Tenant, ...parts: string[]): string {
  const scoped = tenant === DEFAULT_TENANT ? parts : [`tenant=${tenant}`, ...parts];
  return createHash("sha256").update(scoped.join("\u0000")).digest("hex").slice(0, 32);
}

/** One per version and job: adopting a script's version for a job is a new fact. */
export const registeredEventId = (tenant: Tenant, name: string, version: string, jobId: string | null) =>
  digest(tenant, EVENTS.modelRegistered.subject, name, version, jobId ?? "");

export const registrationFailedEventId = (tenant: Tenant, jobId: string) => digest(tenant, EVENTS.registrationFailed.subject, jobId);

export const aliasChangedEventId = (tenant: Tenant, name: string, alias: string, previous: string | null, version: string | null) =>
  digest(tenant, EVENTS.modelAliasChanged.subject, name, alias, previous ?? "", version ?? "");

/** The claim subject token of a job: any job id, made safe for a subject. */
export const claimToken = (tenant: Tenant, jobId: string) => digest(tenant, "registry.claim", jobId);
