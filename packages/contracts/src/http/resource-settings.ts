import { z } from "zod";
import { DEFAULT_RESOURCE_MAXIMA, RESOURCE_MINIMA, type ResourceMaxima } from "./resources.js";

/**
 * The deployment's job maxima as settings (`MAX_JOB_*`): the gateway bounds uploads by them,
 * and the services that build environments from source give a build the same bounds as a job.
 * One definition, so every service reads the same names, forms and defaults.
 */
export const jobMaximaFields = () => ({
  MAX_JOB_MEMORY_MB: z.coerce
    .number()
    .int()
    .min(RESOURCE_MINIMA.memoryMb)
    .default(DEFAULT_RESOURCE_MAXIMA.memoryMb)
    .describe(
      `most memory a training job may ask for (resources.memory_mb), in MiB, and what a job that asks for none gets: a whole number ≥ ${RESOURCE_MINIMA.memoryMb} (default ${DEFAULT_RESOURCE_MAXIMA.memoryMb})`,
    ),
  // Empty counts as unset, as compose's `${VAR:-}` passes it.
  MAX_JOB_CPUS: z
    .preprocess((v) => (v === "" ? undefined : v), z.coerce.number().min(RESOURCE_MINIMA.cpus).optional())
    .describe(
      "most CPUs a training job may ask for (resources.cpus), and what a job that asks for none gets: a number ≥ 0.05, e.g. 2 (default: unset, no cap)",
    ),
  MAX_JOB_PROCESSES: z.coerce
    .number()
    .int()
    .min(RESOURCE_MINIMA.processes)
    .default(DEFAULT_RESOURCE_MAXIMA.processes)
    .describe(
      `most processes and threads a training job may ask for (resources.processes), and what a job that asks for none gets: a whole number ≥ ${RESOURCE_MINIMA.processes} (default ${DEFAULT_RESOURCE_MAXIMA.processes})`,
    ),
  MAX_JOB_DISK_MB: z.coerce
    .number()
    .int()
    .min(RESOURCE_MINIMA.diskMb)
    .default(DEFAULT_RESOURCE_MAXIMA.diskMb)
    .describe(
      `largest work directory a training job may ask for (resources.disk_mb), in MiB, and what a job that asks for none gets; it lives in the job's memory: a whole number ≥ ${RESOURCE_MINIMA.diskMb} (default ${DEFAULT_RESOURCE_MAXIMA.diskMb})`,
    ),
});

/** The parsed `MAX_JOB_*` settings as {@link ResourceMaxima}. */
export function resourceMaximaFrom(env: { MAX_JOB_MEMORY_MB: number; MAX_JOB_CPUS?: number | undefined; MAX_JOB_PROCESSES: number; MAX_JOB_DISK_MB: number }): ResourceMaxima {
  return { memoryMb: env.MAX_JOB_MEMORY_MB, cpus: env.MAX_JOB_CPUS ?? null, processes: env.MAX_JOB_PROCESSES, diskMb: env.MAX_JOB_DISK_MB };
}
