import type { Logger } from "./types.js";

/** What every uv invocation needs; fixed per manager. */
export interface UvContext {
  uvPath: string;
  python: string;
  indexUrl: string | undefined;
  compileBytecode: boolean;
  /** The complete child environment (see `buildChildEnv`). */
  env: Record<string, string>;
  logger: Logger | undefined;
}

/** Flags on every uv command: no configuration files, no progress bars or colours in logs. */
export const COMMON_UV_FLAGS: readonly string[] = ["--no-config", "--no-progress", "--color", "never"];

/** The operator's index when one is configured; never one from the request. */
export function indexFlags(ctx: UvContext): string[] {
  return ctx.indexUrl ? ["--index-url", ctx.indexUrl] : [];
}

/** The last non-empty lines of uv's stderr, for an error message that reads on its own. */
export function summarize(stderr: string, lines = 3): string {
  const meaningful = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return meaningful.slice(-lines).join(" / ") || "no output";
}
