import { readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { NATS_USERS, newNatsPassword, PLATFORM_ACCOUNT, renderNatsAccounts, type NatsUser } from "@asgard/contracts";
import { writePrivateFile } from "@asgard/tools";

/** The passwords of every NATS user of one local deployment (a data dir, a test run). */
export interface NatsAuth {
  readonly passwords: Readonly<Record<NatsUser, string>>;
  /** The 0600 JSON file holding them, beside the server's config. */
  readonly file: string;
}

export const NATS_PASSWORDS_FILE = "nats-passwords.json";

/**
 * The users' passwords kept in `<dir>/nats-passwords.json` (mode 0600): read when the file holds
 * one for every user, else made afresh (random) and written. Never logged.
 */
export async function localNatsAuth(dir: string): Promise<NatsAuth> {
  const file = join(dir, NATS_PASSWORDS_FILE);
  const existing = await readFile(file, "utf8").then((t) => JSON.parse(t) as Record<string, unknown>, () => null);
  if (existing && NATS_USERS.every((u) => typeof existing[u] === "string" && existing[u] !== "")) {
    return { passwords: existing as Record<NatsUser, string>, file };
  }
  const passwords = Object.fromEntries(NATS_USERS.map((u) => [u, newNatsPassword()])) as Record<NatsUser, string>;
  await writePrivateFile(file, `${JSON.stringify(passwords, null, 2)}\n`);
  return { passwords, file };
}

/** The environment a service connecting as `user` needs (see `natsAuthFields` in @asgard/config). */
export function natsClientEnv(auth: NatsAuth, user: string): { NATS_USER: string; NATS_PASSWORD: string } {
  const password = (auth.passwords as Record<string, string | undefined>)[user];
  if (password === undefined) throw new Error(`${user} is no NATS user (the users are ${NATS_USERS.join(", ")})`);
  return { NATS_USER: user, NATS_PASSWORD: password };
}

/** The server config's `accounts` block with the passwords written in (the config is kept 0600). */
export function localAuthorization(auth: NatsAuth): string {
  return renderNatsAccounts((user) => ({ literal: auth.passwords[user] }));
}

/**
 * Moves JetStream's store from the global account to the platform's, once. nats-server keeps
 * streams per account (`<store>/jetstream/<account>`): a store written while the services were
 * users of the global account (`$G`, before accounts) would otherwise be left behind, with the
 * keys, queued jobs and logs in it. Run with the server stopped. Answers whether it moved one.
 */
export async function adoptGlobalAccountStore(storeDir: string): Promise<boolean> {
  const from = join(storeDir, "jetstream", "$G");
  const to = join(storeDir, "jetstream", PLATFORM_ACCOUNT);
  const exists = (path: string) => stat(path).then(() => true, () => false);
  if (!(await exists(from)) || (await exists(to))) return false;
  await rename(from, to);
  return true;
}
