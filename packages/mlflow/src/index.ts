export { createMlflowClient, type MlflowClient, type MlflowClientOptions, type PingResult } from "./client.js";
export type { CallOptions } from "./transport.js";
export {
  MlflowError,
  MlflowNotFoundError,
  MlflowConflictError,
  MlflowValidationError,
  MlflowUnavailableError,
  MlflowResponseError,
  MlflowRegistrationFailedError,
  MlflowRegistrationTimeoutError,
  errorCodeFor,
  type MlflowOperation,
  type UnavailableReason,
} from "./errors.js";
export {
  toNumber,
  toMetricValue,
  tagsToRecord,
  type Tag,
  type Experiment,
  type Metric,
  type Run,
  type RunInfo,
  type LoggedModel,
  type RegisteredModel,
  type ModelVersion,
  type ArtifactFile,
} from "./types.js";
export type { ExperimentsApi, ViewType, CreateExperimentOptions, SearchExperimentsQuery } from "./experiments.js";
export type { RunsApi, RunStatus, CreateRunInput, UpdateRunInput, MetricInput, LogBatchInput, SearchRunsQuery } from "./runs.js";
export type {
  LoggedModelsApi,
  CreateLoggedModelInput,
  SearchLoggedModelsQuery,
  ModelSource,
  LoggedModelFinalStatus,
} from "./logged-models.js";
export type { RegisteredModelsApi, CreateRegisteredModelOptions, SearchRegisteredModelsQuery } from "./registered-models.js";
export {
  registrationState,
  type ModelVersionsApi,
  type CreateModelVersionInput,
  type SearchModelVersionsQuery,
  type WaitForReadyOptions,
  type RegistrationState,
} from "./model-versions.js";
export type { AliasesApi } from "./aliases.js";
export { DEFAULT_WORKSPACE, WORKSPACE_HEADER, type Workspace, type WorkspacesApi } from "./workspaces.js";
export { artifactPathFromUri, type ArtifactsApi, type DownloadOptions } from "./artifacts.js";
export { TENANT_ROLE, basicAuthorization, tenantUser, type BasicCredentials, type UsersApi } from "./users.js";
