export { createInference, type Inference, type InferenceDeps, type InferenceStats } from "./inference.js";
export { DEFAULT_CONFIG, resolveConfig, type InferenceConfig } from "./config.js";
