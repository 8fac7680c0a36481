export * from "./ports.js";
export * from "./process.js";
export * from "./versions.js";
export * from "./tools.js";
export * from "./nats.js";
export * from "./mlflow.js";
export * from "./seaweed.js";
export * from "./bubblewrap.js";
