import type { JobStatus } from "@asgard/contracts";

// The contracts' lists, restated because importing their index would bundle every schema;
// `satisfies` makes the typecheck fail if a status here stops being one of theirs.
export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const satisfies readonly JobStatus[];
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];
