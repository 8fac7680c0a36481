export * from "./env.js";
export * from "./fields.js";
