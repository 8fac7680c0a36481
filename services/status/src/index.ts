export { createStatusService, type StatusService, type StatusServiceDeps } from "./status-service.js";
export { createFeastRegistryFileProbe, countFeatureViewsInRegistry, type FeatureStoreProbe } from "./feast-registry.js";
