/**
 * Set to `1` (or `true`) to make a service parse its configuration, print `<service>: config ok`
 * and exit 0 without connecting to anything. Deployments use it to prove an image and its
 * environment before rolling out; an invalid variable still exits 2 naming it.
 */
export const CONFIG_CHECK_VARIABLE = "ASGARD_CONFIG_CHECK";

/** Whether `env` asks for a configuration check only. */
export function configCheckRequested(env: Record<string, string | undefined> = process.env): boolean {
  const value = env[CONFIG_CHECK_VARIABLE]?.trim().toLowerCase();
  return value === "1" || value === "true";
}

/**
 * Call right after the service's environment parsed: under a configuration check it reports
 * success and ends the process before anything is opened or served.
 */
export function exitIfConfigCheck(service: string, env: Record<string, string | undefined> = process.env): void {
  if (!configCheckRequested(env)) return;
  process.stdout.write(`${service}: config ok\n`);
  process.exit(0);
}
