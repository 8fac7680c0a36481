import { createHash } from "node:crypto";
import { EVENTS } from "@asgard/contracts";

/**
 * Event ids derived from what the event says, so that every replica (and a restarted one)
 * announcing the same fact gives it the same id: JetStream drops the repeat as a duplicate
 * within the stream's window, and consumers can drop it after that. Each digest starts with
 * its event's subject, so ids of different events never collide.
 */
function digest(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
}

/** One per version and job: adopting a script's version for a job is a new fact. */
export const registeredEventId = (name: string, version: string, jobId: string | null) =>
  digest(EVENTS.modelRegistered.subject, name, version, jobId ?? "");

export const registrationFailedEventId = (jobId: string) => digest(EVENTS.registrationFailed.subject, jobId);

export const aliasChangedEventId = (name: string, alias: string, previous: string | null, version: string | null) =>
  digest(EVENTS.modelAliasChanged.subject, name, alias, previous ?? "", version ?? "");

/** The claim subject token of a job: any job id, made safe for a subject. */
export const claimToken = (jobId: string) => digest("registry.claim", jobId);
