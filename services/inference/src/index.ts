export { createInference, type Inference, type InferenceDeps } from "./inference.js";
