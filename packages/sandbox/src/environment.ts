import { assertEnvName } from "./bwrap-args.js";

/**
 * The environment the script gets: exactly the caller's allow-list, plus `HOME` (the working
 * directory, unless the caller set one: tools such as pip and matplotlib write under it) and
 * `PWD`, which bwrap always sets after `--chdir` and process-group mode sets to match.
 */
export function scriptEnvironment(env: Record<string, string>, cwd: string): Record<string, string> {
  for (const [name, value] of Object.entries(env)) {
    assertEnvName(name);
    if (typeof value !== "string" || value.includes("\0")) {
      throw new TypeError(`environment variable ${name} must be a string without NUL characters`);
    }
  }
  return { ...env, HOME: env.HOME ?? cwd, PWD: cwd };
}
