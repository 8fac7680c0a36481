import { z } from "zod";
import { describeValue, expecting, report } from "./common.js";

/**
 * What one training job may use, complete: what the job asked for, each omitted field filled
 * with the deployment's maximum. Stored with the job and carried in its claim; the runner's
 * sandbox enforces it.
 */
export interface JobResources {
  /** Memory of all the job's processes together, MiB; files in its work directory, /tmp and /dev/shm count too. */
  memory_mb: number;
  /** CPU time per second, in CPUs (1.5 = one and a half cores); null: no cap beyond the machine. */
  cpus: number | null;
  /** Processes and threads together. */
  processes: number;
  /** Total size of the files in the job's work directory, MiB. */
  disk_mb: number;
}

/** The deployment's bounds on what a job may ask for (gateway settings MAX_JOB_*). */
export interface ResourceMaxima {
  memoryMb: number;
  /** Null: jobs may ask for any number of CPUs, and a job that asks for none is not capped. */
  cpus: number | null;
  processes: number;
  diskMb: number;
}

/**
 * Today's sandbox defaults: 4 GiB, no CPU cap, 1024 processes; the work directory's total is
 * new and sized to fit in the memory limit with room for the script.
 */
export const DEFAULT_RESOURCE_MAXIMA: ResourceMaxima = Object.freeze({
  memoryMb: 4096,
  cpus: null,
  processes: 1024,
  diskMb: 2048,
});

/** Below these a Python script with MLflow cannot start. */
export const RESOURCE_MINIMA = Object.freeze({ memoryMb: 128, cpus: 0.05, processes: 16, diskMb: 16 });
/** The most CPUs a job may ask for where the deployment sets no maximum (what the internal schema accepts). */
export const MAX_CPUS_UNCAPPED = 100_000;

/** Fields of `resources` in an upload. */
export const RESOURCE_FIELDS = ["memory_mb", "cpus", "processes", "disk_mb"] as const;

/** The limits a job runs with when its record or claim has none (stored before limits existed). */
export function defaultJobResources(maxima: ResourceMaxima = DEFAULT_RESOURCE_MAXIMA): JobResources {
  return { memory_mb: maxima.memoryMb, cpus: maxima.cpus, processes: maxima.processes, disk_mb: maxima.diskMb };
}

/** `requested` with each omitted field set to the deployment's maximum. */
export function resolveJobResources(requested: Partial<JobResources> | undefined, maxima: ResourceMaxima): JobResources {
  const base = defaultJobResources(maxima);
  return {
    memory_mb: requested?.memory_mb ?? base.memory_mb,
    cpus: requested?.cpus ?? base.cpus,
    processes: requested?.processes ?? base.processes,
    disk_mb: requested?.disk_mb ?? base.disk_mb,
  };
}

const intField = (name: string, min: number, max: number, unit: string, example: number) =>
  z
    .number({ error: expecting(`a whole number of ${unit}, e.g. ${example}`) })
    .int({ error: `must be a whole number of ${unit}, e.g. ${example}` })
    .min(min, { error: `must be at least ${min} ${unit}` })
    .max(max, { error: `must be at most ${max} ${unit}, this deployment's maximum for ${name}` });

/**
 * `resources` of an upload under the deployment's maxima: each field optional, anything above
 * its maximum a 422 naming the field and the maximum. The value is what was sent (omitted fields
 * stay omitted, so a request hash does not change with the maxima); `resolveJobResources` fills them.
 */
export function resourcesField(maxima: ResourceMaxima) {
  const cpus = z
    .number({ error: expecting("a number of CPUs, e.g. 2 or 0.5") })
    .min(RESOURCE_MINIMA.cpus, { error: `must be at least ${RESOURCE_MINIMA.cpus} CPUs` })
    .superRefine((v, ctx) => {
      if (maxima.cpus !== null && v > maxima.cpus) report(ctx, `must be at most ${maxima.cpus} CPUs, this deployment's maximum for cpus`);
      else if (v > MAX_CPUS_UNCAPPED) report(ctx, `must be at most ${MAX_CPUS_UNCAPPED} CPUs`);
    });
  return z
    .object({
      memory_mb: intField("memory_mb", RESOURCE_MINIMA.memoryMb, maxima.memoryMb, "MiB", 2048).optional(),
      cpus: cpus.optional(),
      processes: intField("processes", RESOURCE_MINIMA.processes, maxima.processes, "processes", 64).optional(),
      disk_mb: intField("disk_mb", RESOURCE_MINIMA.diskMb, maxima.diskMb, "MiB", 1024).optional(),
    }, { error: (iss) => (iss.code === "invalid_type" ? `must be an object such as {"memory_mb": 2048, "cpus": 1}, not ${describeValue(iss.input)}` : undefined) })
    .strict()
    .meta({
      description:
        `What the job may use; each omitted field gets this deployment's maximum (by default memory_mb ${DEFAULT_RESOURCE_MAXIMA.memoryMb}, ` +
        `processes ${DEFAULT_RESOURCE_MAXIMA.processes}, disk_mb ${DEFAULT_RESOURCE_MAXIMA.diskMb}, cpus uncapped). Above a maximum: 422. ` +
        "memory_mb covers all the job's processes and the files in its work directory, /tmp and /dev/shm (they live in memory); " +
        "disk_mb caps the work directory's total; cpus is CPU time per second (0.5 = half a core). " +
        "A job that runs into a limit fails with error_type `resource_limit`.",
      examples: [{ memory_mb: 2048, cpus: 1, processes: 64, disk_mb: 512 }],
    });
}

/** `resources` as services pass it to each other (checked again on receipt: an internal message is untrusted input too). */
export const JobResourcesSchema = z.object({
  memory_mb: z.number().int().min(RESOURCE_MINIMA.memoryMb).max(1 << 30),
  cpus: z.number().min(RESOURCE_MINIMA.cpus).max(MAX_CPUS_UNCAPPED).nullable(),
  processes: z.number().int().min(RESOURCE_MINIMA.processes).max(1 << 22),
  disk_mb: z.number().int().min(RESOURCE_MINIMA.diskMb).max(1 << 30),
});
