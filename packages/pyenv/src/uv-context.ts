import { join } from "node:path";
import type { SourceBuildSandbox } from "./sandboxed.js";
import type { Logger } from "./types.js";

/** Source builds allowed, and where they run. */
export interface SourceBuilds {
  sandbox: SourceBuildSandbox;
  /** What uv needs to read in there: its own folder, the base interpreter, CA certificates. Set when the manager starts. */
  readOnlyPaths: string[];
}

/** What every uv invocation needs; fixed per manager. */
export interface UvContext {
  uvPath: string;
  python: string;
  indexUrl: string | undefined;
  compileBytecode: boolean;
  /** The complete child environment (see `buildChildEnv`). */
  env: Record<string, string>;
  logger: Logger | undefined;
  /** Null: binary wheels only (the default). Otherwise resolving and installing run in its sandbox. */
  sourceBuilds: SourceBuilds | null;
}

/** Flags on every uv command: no configuration files, no progress bars or colours in logs. */
export const COMMON_UV_FLAGS: readonly string[] = ["--no-config", "--no-progress", "--color", "never"];

/**
 * Binary wheels only, when resolving (so the lock picks versions that ship wheels) and when
 * installing: building a source distribution runs the package's own build backend, arbitrary
 * code, as the runner and outside the sandbox.
 */
export const BINARY_ONLY_FLAGS: readonly string[] = ["--no-build"];

/** No flag when source builds are allowed (they then run in the sandbox), else {@link BINARY_ONLY_FLAGS}. */
export const buildFlags = (ctx: UvContext): readonly string[] => (ctx.sourceBuilds ? [] : BINARY_ONLY_FLAGS);

/** What a sandboxed build may have left in the folder it was given; removed before anything is published. */
export const SANDBOX_SCRATCH = ".asgard-build";

/** Where a sandboxed command keeps HOME and uv's cache: the sandbox's private, size-capped `/tmp`. */
export const SANDBOX_HOME = "/tmp/asgard-build";

/**
 * The environment of uv in the sandbox: ours, with HOME and uv's cache in the sandbox's own
 * `/tmp`, a tmpfs of the build's scratch size (gone with the sandbox), so downloads and build
 * trees count against the build's bounds. The shared cache stays out of reach: a build could
 * otherwise plant files in it that builds outside the sandbox would use. Installing copies from
 * that cache (another filesystem than the environment's, where uv's hard links cannot go).
 */
export const sandboxEnv = (ctx: UvContext): Record<string, string> => ({
  ...ctx.env,
  HOME: SANDBOX_HOME,
  UV_CACHE_DIR: join(SANDBOX_HOME, "uv-cache"),
  TMPDIR: "/tmp",
  UV_LINK_MODE: "copy",
});

/**
 * The package uv names when a requirement ships no usable wheel under `--no-build`
 * ("Wheels are required for `docopt` because building from source is disabled…"), else null.
 */
export function wheelMissingFor(stderr: string): string | null {
  return /Wheels are required for `([^`]+)`/.exec(stderr)?.[1] ?? null;
}

/** The job-facing explanation of a refused source build, naming the package. */
export function sourceBuildRefused(name: string): string {
  return (
    `${name} is published only as a source distribution for this Python and platform (no wheel); ` +
    `environments are built from binary wheels only, because building a package runs its own code outside the sandbox: ` +
    `require a version of ${name} that ships a wheel, or a different package; ` +
    `or the operator allows source builds, which then run in the sandbox (ENV_SOURCE_BUILDS=sandbox)`
  );
}

/** The operator's index when one is configured; never one from the request. */
export function indexFlags(ctx: UvContext): string[] {
  return ctx.indexUrl ? ["--index-url", ctx.indexUrl] : [];
}

/** The last non-empty lines of uv's stderr, for an error message that reads on its own. */
export function summarize(stderr: string, lines = 3): string {
  const meaningful = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return meaningful.slice(-lines).join(" / ") || "no output";
}
