import { z } from "zod";
import { envelope } from "./envelope.js";

/** A model version became READY in the registry (through us, a job, or MLflow directly). */
export const ModelRegisteredSchema = z.object({
  ...envelope,
  model_name: z.string(),
  version: z.string(),
  run_id: z.string().nullable(),
  job_id: z.string().nullable(),
  source: z.string().describe("MLflow source URI of the version (models:/… or runs:/…)."),
  aliases: z.array(z.string()),
  signature: z
    .object({
      inputs: z.array(z.object({ name: z.string().nullable(), type: z.string() })),
      outputs: z.array(z.object({ name: z.string().nullable(), type: z.string() })),
    })
    .nullable(),
  registered_at: z.iso.datetime(),
});
export type ModelRegistered = z.infer<typeof ModelRegisteredSchema>;

/** Automatic registration of a job's model failed; the job completes with `registration_error`. */
export const RegistrationFailedSchema = z.object({
  ...envelope,
  job_id: z.string(),
  model_name: z.string(),
  run_id: z.string().nullable(),
  error: z.string(),
});
export type RegistrationFailed = z.infer<typeof RegistrationFailedSchema>;
