export * from "./run.js";
export * from "./versions.js";
export * from "./tools.js";
export * from "./file-lock.js";
export * from "./safe-join.js";
export * from "./private-file.js";
