import { randomBytes } from "node:crypto";
import {
  natsAccountOf,
  natsPermissions,
  natsStreamOwners,
  NATS_USERS,
  PLATFORM_ACCOUNT,
  publicEventSubjects,
  READER_ACCOUNT,
  type NatsUser,
} from "./nats-permissions.js";

/*
 * nats-server's configuration of the accounts and users, rendered from the generated
 * permissions: written out with the passwords for a local server, or with environment
 * references for compose and Kubernetes (the committed nats-auth.conf files under deploy/).
 */

/**
 * How a user's password appears in a server config: written out (a local config kept 0600), or
 * read by nats-server from its environment when it loads the config (compose and Kubernetes put
 * it there from a secret, so the committed config holds none).
 */
export type NatsPasswordRef = { readonly literal: string } | { readonly env: string };

/**
 * A fresh random password. Letters and digits only, starting with a letter: nats-server parses
 * an environment variable's value as a config value, so `-…` fails and `1e5` becomes a number.
 */
export const newNatsPassword = (): string => `p${randomBytes(24).toString("hex")}`;

/** The server-side environment variable holding a user's password in compose and Kubernetes. */
export const natsPasswordEnv = (user: NatsUser): string => `NATS_PASSWORD_${user.toUpperCase().replace(/-/g, "_")}`;

const quoted = (s: string): string => JSON.stringify(s);
const list = (items: readonly string[], indent: string): string =>
  `[\n${items.map((s) => `${indent}  ${quoted(s)}`).join("\n")}\n${indent}]`;

function renderRule(name: string, rule: { allow: readonly string[]; deny: readonly string[] }, indent: string): string {
  const lines = [`${indent}${name}: {`];
  if (rule.allow.length > 0) lines.push(`${indent}  allow: ${list(rule.allow, `${indent}  `)}`);
  if (rule.deny.length > 0) lines.push(`${indent}  deny: ${list(rule.deny, `${indent}  `)}`);
  lines.push(`${indent}}`);
  return lines.join("\n");
}

function renderUser(user: NatsUser, ref: NatsPasswordRef): string {
  const p = natsPermissions(user);
  const pw = "literal" in ref ? quoted(ref.literal) : `$${ref.env}`;
  return [
    "      {",
    `        user: ${quoted(user)}`,
    `        password: ${pw}`,
    "        permissions: {",
    renderRule("publish", p.publish, "          "),
    renderRule("subscribe", p.subscribe, "          "),
    ...(p.allowResponses ? ["          allow_responses: true"] : []),
    "        }",
    "      }",
  ].join("\n");
}

/** Seconds a client has to authenticate after it connects. */
const NATS_AUTH_TIMEOUT_SECONDS = 10;

const usersOf = (account: string, password: (user: NatsUser) => NatsPasswordRef): string =>
  NATS_USERS.filter((u) => natsAccountOf(u) === account)
    .map((u) => renderUser(u, password(u)))
    .join("\n");

/**
 * The `accounts` block of nats-server's config, and no `no_auth_user`, so a client without
 * credentials is refused. The services share the platform's account, the only one with
 * JetStream. The read-only user has an account of its own that imports the public event
 * subjects, exported to it alone: it sees them live and has no path into the platform's
 * account (no JetStream API, no consumer whose deliveries land on platform subjects). The
 * system account nats-server needs is its default `$SYS`, which no user here belongs to.
 */
export function renderNatsAccounts(password: (user: NatsUser) => NatsPasswordRef): string {
  // A stream with no owner, or two, is a catalog mistake: no server config is made from it.
  natsStreamOwners();
  const subjects = publicEventSubjects();
  return [
    // A client must send its credentials within this many seconds of connecting. The default
    // (about a second without TLS) refuses a service whose event loop is busy starting up
    // (the embedded database's WebAssembly) on a loaded machine, and it then restarts forever.
    `authorization { timeout: ${NATS_AUTH_TIMEOUT_SECONDS} }`,
    "accounts {",
    `  ${PLATFORM_ACCOUNT}: {`,
    "    jetstream: enabled",
    "    users: [",
    usersOf(PLATFORM_ACCOUNT, password),
    "    ]",
    "    exports: [",
    ...subjects.map((s) => `      { stream: ${quoted(s)}, accounts: [${quoted(READER_ACCOUNT)}] }`),
    "    ]",
    "  }",
    `  ${READER_ACCOUNT}: {`,
    "    users: [",
    usersOf(READER_ACCOUNT, password),
    "    ]",
    "    imports: [",
    ...subjects.map((s) => `      { stream: { account: ${quoted(PLATFORM_ACCOUNT)}, subject: ${quoted(s)} } }`),
    "    ]",
    "  }",
    "}",
    "",
  ].join("\n");
}

/**
 * The accounts config compose and Kubernetes mount (deploy/compose/nats-auth.conf,
 * deploy/k8s/base/nats-auth.conf): every password read from the server's environment
 * (`natsPasswordEnv`), so the committed file holds none. A test keeps both files equal to this.
 */
export function deployNatsAuthConfig(): string {
  return [
    "# Generated from the contracts catalog (packages/contracts/src/nats-permissions.ts): do not edit.",
    "# Regenerate with `npm run nats-secrets -- config`. Passwords come from the server's environment.",
    renderNatsAccounts((user) => ({ env: natsPasswordEnv(user) })),
  ].join("\n");
}
