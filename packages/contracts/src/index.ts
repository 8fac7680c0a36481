export * from "./catalog-types.js";
export * from "./catalog.js";
export * from "./errors.js";
export * from "./status.js";
export * from "./events/envelope.js";
export * from "./events/training.js";
export * from "./events/registry.js";
