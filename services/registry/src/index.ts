export { createRegistry, type Registry, type RegistryDeps } from "./registry.js";
export { DEFAULT_CONFIG, resolveConfig, type RegistryConfig } from "./config.js";
