import { CONSUMERS, type ModelRegistered, type RegistrationFailed } from "@asgard/contracts";
import type { ConsumedMessage, Consumption } from "@asgard/bus";
import { updateJob } from "../db/jobs.js";
import { registrationFinish, registrationVerdict, type EarlyRegistration, type RegistrationVerdict } from "../domain/state-machine.js";
import { finishJob, inJobTx } from "../transitions.js";
import { tracedContext, type SchedulerContext } from "../context.js";

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

/** A registered version as the answer for its job; null for a version no job asked for. */
function registeredAnswer(event: ModelRegistered): RegistryAnswer | null {
  if (event.job_id === null) return null;
  return { jobId: event.job_id, modelVersion: event.version, error: null, runId: event.run_id };
}

function failedAnswer(event: RegistrationFailed): RegistryAnswer {
  return { jobId: event.job_id, modelVersion: null, error: event.error, runId: event.run_id };
}

export function consumeRegistrations(base: SchedulerContext): Consumption {
  const record =
    <T>(toAnswer: (event: T) => RegistryAnswer | null) =>
    async (msg: ConsumedMessage<T>): Promise<void> => {
      const answer = toAnswer(msg.data);
      if (!answer) return;
      const ctx = tracedContext(base, msg.headers);
      const verdict = await recordRegistration(ctx, answer);
      ctx.logger.info(
        { job_id: answer.jobId, run_id: answer.runId, model_version: answer.modelVersion, subject: msg.subject, verdict },
        "registry answer received",
      );
    };
  return base.bus.consume(CONSUMERS.schedulerRegistrations, {
    modelRegistered: record(registeredAnswer),
    registrationFailed: record(failedAnswer),
    // Alias moves concern no job.
    modelAliasChanged: null,
  });
}
