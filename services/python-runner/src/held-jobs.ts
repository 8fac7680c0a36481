import type { JobPhase } from "@asgard/contracts";

/** A job attempt this replica is running, as its heartbeat reports it. */
export interface HeldJob {
  jobId: string;
  attempt: number;
  phase: JobPhase;
  abort: AbortController;
  cancelReason: string | null;
}

/** Abort reason of an attempt stopped because its runner is shutting down. */
export const HANDOVER = "runner shutting down: handed back to the queue";

export class HeldJobs {
  private readonly jobs = new Map<string, HeldJob>();

  add(job: HeldJob): void {
    this.jobs.set(job.jobId, job);
  }

  remove(jobId: string): void {
    this.jobs.delete(jobId);
  }

  get(jobId: string): HeldJob | undefined {
    return this.jobs.get(jobId);
  }

  list(): HeldJob[] {
    return [...this.jobs.values()];
  }

  /** Stops the attempt (its env build or its script) if we hold that attempt. */
  cancel(jobId: string, attempt: number, reason: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job || (attempt > 0 && job.attempt !== attempt)) return false;
    job.cancelReason = reason;
    job.abort.abort(new Error(reason));
    return true;
  }
}
