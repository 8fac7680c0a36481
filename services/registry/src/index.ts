export { createRegistry, type Registry, type RegistryDeps } from "./registry.js";
