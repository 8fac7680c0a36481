import type { JobSummary } from "../types.js";

const PHASE_TEXT: Record<string, string> = { queued: "queued", building_env: "building environment", running: "running", registering: "registering" };

/** A job's status (and, while live, what it is doing). */
export function JobStatus({ job }: { job: Pick<JobSummary, "status" | "phase"> }) {
  const text = job.phase && job.status !== "queued" ? PHASE_TEXT[job.phase] ?? job.status : job.status;
  return <span class={`badge status-${job.status}`}>{text}</span>;
}
