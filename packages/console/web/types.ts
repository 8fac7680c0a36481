// Wire shapes the console reads, as the API documents them (see /openapi.json). Type-only
// imports: no schema code from the contracts lands in the bundle for these.
export type { Job, JobSummary, JobListResponse, LogLinesEvent, LogEndEvent } from "@asgard/contracts";
export type { ModelInfo, AliasResponse, InferenceResponse, StatusSnapshot } from "@asgard/contracts";
export type { RunDetails, MetricPoint, ModelVersionList, ModelVersionDetails, ModelSignature, SignatureField } from "@asgard/contracts";
export { JOB_STATUSES, TERMINAL_JOB_STATUSES } from "./constants.js";
