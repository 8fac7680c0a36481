import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deployNatsAuthConfig, NATS_USERS, natsPasswordEnv, newNatsPassword } from "@asgard/contracts";

/**
 * `npm run nats-secrets -- env|k8s|config`: the NATS users' passwords of a deployment, and its
 * generated server permissions. Each run makes fresh random passwords and prints them once.
 */
const USAGE = `usage:
  npm run nats-secrets -- env                       lines for deploy/.env (compose): >> deploy/.env
  npm run nats-secrets -- k8s [--namespace NAME]    the Secret asgard-nats-users: | kubectl apply -f -
  npm run nats-secrets -- config                    rewrite deploy's NATS permission configs from the catalog`;

/** The Secret the Kubernetes manifests read every NATS password from. */
export const NATS_USERS_SECRET = "asgard-nats-users";

/** The committed permission configs, relative to the repository root. */
export const DEPLOY_NATS_AUTH_FILES = ["deploy/compose/nats-auth.conf", "deploy/k8s/base/nats-auth.conf"] as const;

const freshPasswords = () => NATS_USERS.map((user) => [natsPasswordEnv(user), newNatsPassword()] as const);

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { namespace: { type: "string" } } });
  switch (command) {
    case "env":
      process.stdout.write(
        ["# NATS users' passwords (npm run nats-secrets -- env); the read-only user is NATS_PASSWORD_READER.", ...freshPasswords().map(([k, v]) => `${k}=${v}`), ""].join("\n"),
      );
      return;
    case "k8s":
      process.stdout.write(
        [
          "# The NATS users' passwords: nats-server reads every one, each service its own.",
          "apiVersion: v1",
          "kind: Secret",
          "metadata:",
          `  name: ${NATS_USERS_SECRET}`,
          `  namespace: ${values.namespace ?? "asgard"}`,
          "type: Opaque",
          "stringData:",
          ...freshPasswords().map(([k, v]) => `  ${k}: ${v}`),
          "",
        ].join("\n"),
      );
      return;
    case "config":
      for (const file of DEPLOY_NATS_AUTH_FILES) await writeFile(join(process.cwd(), file), deployNatsAuthConfig());
      process.stdout.write(`wrote ${DEPLOY_NATS_AUTH_FILES.join(", ")}\n`);
      return;
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`nats-secrets: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
