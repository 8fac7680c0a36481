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

/**
 * A service's start: runs `main`; a ConfigError ends the process with status 2 and the
 * variable named, any other failure with status 1 and its stack.
 */
export function startService(service: string, main: () => Promise<void>): void {
  main()
    .catch(exitOnConfigError)
    .catch((err: unknown) => {
      process.stderr.write(`${service}: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}

/** Ends the process with status 2 and the variable named on a ConfigError; rethrows anything else. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

/**
 * The MLflow admin credentials parsed with `mlflowAdminFields()`, or undefined when
 * neither is set; one without the other stops start-up naming the missing one.
 */
export function mlflowAdminFrom(
  service: string,
  env: { MLFLOW_TRACKING_USERNAME?: string | undefined; MLFLOW_TRACKING_PASSWORD?: string | undefined },
): { username: string; password: string } | undefined {
  const { MLFLOW_TRACKING_USERNAME: username, MLFLOW_TRACKING_PASSWORD: password } = env;
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined || password === undefined) {
    const missing = username === undefined ? "MLFLOW_TRACKING_USERNAME" : "MLFLOW_TRACKING_PASSWORD";
    throw new ConfigError(service, [{ variable: missing, expected: "set together with the other MLFLOW_TRACKING_ credential (got null)" }]);
  }
  return { username, password };
}
