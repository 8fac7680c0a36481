import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { freePort } from "./ports.js";
import { spawnManaged, waitUntilReady, type ManagedProcess } from "./process.js";

export interface NatsServer {
  url: string;
  port: number;
  monitorUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

const CANDIDATES = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];

/** Finds the nats-server binary, or says which package provides it. */
export function findNatsServer(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(`${dir}/nats-server`)) return `${dir}/nats-server`;
  }
  const found = CANDIDATES.find((c) => existsSync(c));
  if (found) return found;
  throw new Error(
    "nats-server was not found: install the Debian package `nats-server` (apt-get install nats-server), " +
      "set NATS_SERVER_BIN to its path, or set NATS_URL to use a running server",
  );
}

/** Starts a nats-server with JetStream on loopback, storing in `storeDir`. */
export async function startNatsServer(options: {
  storeDir: string;
  port?: number;
  logFile?: string;
}): Promise<NatsServer> {
  await mkdir(options.storeDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const monitorPort = await freePort();
  const proc = spawnManaged({
    name: "nats-server",
    command: findNatsServer(),
    args: ["-a", "127.0.0.1", "-p", String(port), "-m", String(monitorPort), "-js", "-sd", options.storeDir],
    logFile: options.logFile,
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
    process: proc,
    stop: () => proc.stop(),
  };
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
