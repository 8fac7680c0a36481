import { z } from "zod";

/** Raised when a service's environment does not parse; lists every bad variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly service: string,
    readonly problems: Array<{ variable: string; expected: string }>,
  ) {
    super(
      `${service}: invalid configuration:\n` +
        problems.map((p) => `  ${p.variable}: ${p.expected}`).join("\n"),
    );
  }
}

/**
 * Parses `env` with a service's zod schema. Each field's `.describe()` text is the expected
 * form that the error prints, so a bad variable is reported by name with what it should be.
 */
export function parseEnv<S extends z.ZodObject>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const shape = schema.shape as Record<string, z.ZodType>;
  const seen = new Set<string>();
  const problems: Array<{ variable: string; expected: string }> = [];
  for (const issue of result.error.issues) {
    const variable = String(issue.path[0] ?? "(environment)");
    if (seen.has(variable)) continue;
    seen.add(variable);
    const described = shape[variable]?.description;
    problems.push({
      variable,
      expected: `${described ?? issue.message} (got ${JSON.stringify(env[variable] ?? null)})`,
    });
  }
  throw new ConfigError(service, problems);
}

/** Runs `main`; a ConfigError ends the process with status 2 and the variable named. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
