import { z } from "zod";
import {
  CONSUMERS,
  EVENTS,
  ModelRegisteredSchema,
  RegistrationFailedSchema,
  type EventDef,
} from "@asgard/contracts";
import type { Consumption } from "@asgard/bus";
import { updateJob } from "../db/jobs.js";
import { registrationFinish, registrationVerdict, type EarlyRegistration, type RegistrationVerdict } from "../domain/state-machine.js";
import { finishJob, inJobTx } from "../transitions.js";
import { tracedContext, type SchedulerContext } from "../context.js";

/**
 * The MODELS stream carries several payloads (registered, registration failed, alias moves)
 * under one consumer; each is checked against its own schema by subject below.
 */
const MODEL_EVENTS = {
  ...EVENTS.modelRegistered,
  subject: "model.>",
  schema: z.unknown(),
  description: "Every event of the MODELS stream, dispatched by subject.",
} as const satisfies EventDef;

/** The registry's answer for a job: a version, or why there is none. */
export interface RegistryAnswer {
  jobId: string;
  modelVersion: string | null;
  error: string | null;
  runId: string | null;
}

/** Completes a registering job, keeps an answer that overtook the run.completed, ignores the rest. */
export async function recordRegistration(ctx: SchedulerContext, answer: RegistryAnswer): Promise<RegistrationVerdict> {
  return inJobTx(ctx, answer.jobId, async (tx) => {
    const job = tx.job;
    const verdict = registrationVerdict(job);
    if (!job || verdict === "ignore") return "ignore";
    const now = ctx.now();
    const registration: EarlyRegistration = {
      model_version: answer.modelVersion,
      error: answer.error,
      run_id: answer.runId,
      received_at: now.toISOString(),
    };
    if (verdict === "complete") {
      await finishJob(ctx, tx, job, registrationFinish(registration), { early_registration: null });
    } else {
      await updateJob(tx.trx, job.job_id, { early_registration: registration }, now);
    }
    return verdict;
  });
}

/** Reads a MODELS event as a registry answer about a job, or null when it is none. */
export function toRegistryAnswer(subject: string, data: unknown): RegistryAnswer | null {
  if (subject === EVENTS.modelRegistered.subject) {
    const event = ModelRegisteredSchema.parse(data);
    if (event.job_id === null) return null;
    return { jobId: event.job_id, modelVersion: event.version, error: null, runId: event.run_id };
  }
  if (subject === EVENTS.registrationFailed.subject) {
    const event = RegistrationFailedSchema.parse(data);
    return { jobId: event.job_id, modelVersion: null, error: event.error, runId: event.run_id };
  }
  return null;
}

export function consumeRegistrations(base: SchedulerContext): Consumption {
  return base.bus.consume(CONSUMERS.schedulerRegistrations, MODEL_EVENTS, async (msg) => {
    const ctx = tracedContext(base, msg.headers);
    let answer: RegistryAnswer | null;
    try {
      answer = toRegistryAnswer(msg.subject, msg.data);
    } catch (err) {
      // It can never pass; acked so it does not come back.
      ctx.logger.warn({ subject: msg.subject, seq: msg.seq, err }, "ignored a MODELS event that does not match its schema");
      return;
    }
    if (!answer) return;
    const verdict = await recordRegistration(ctx, answer);
    ctx.logger.info(
      { job_id: answer.jobId, run_id: answer.runId, model_version: answer.modelVersion, subject: msg.subject, verdict },
      "registry answer received",
    );
  });
}
