export { createGateway, type GatewayDeps } from "./app.js";
export { createStatusCache, type StatusCache } from "./status-cache.js";
export { HTTP_STATUS, HttpError } from "./http-errors.js";
export { connectedBus, type BusRef } from "./bus-ref.js";
export { DEFAULT_LOG_STREAM_OPTIONS, type LogStreamOptions, type TrainingRouteOptions } from "./training-options.js";
export { MAX_CREATE_JOB_BYTES, IDEMPOTENT_REPLAYED_HEADER } from "./routes/training-upload.js";
