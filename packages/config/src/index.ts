export * from "./env.js";
export * from "./fields.js";
export * from "./config-check.js";
export * from "./deployment-fields.js";
export * from "./loopback.js";
