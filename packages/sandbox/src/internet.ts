import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Readable, Writable } from "node:stream";
import { SandboxError } from "./errors.js";
import { signalPid } from "./kill.js";

/** slirp4netns's resolver inside the namespace (it forwards to the host's). */
export const SLIRP_NAMESERVER = "10.0.2.3";
const READY_TIMEOUT_MS = 30_000;
const MAX_STDERR_CHARS = 2000;
const LOOPBACK_POLL_MS = 2;

export interface Internet {
  /** Ends slirp4netns (it also ends by itself when the runner dies: its exit fd closes). */
  stop(): void;
}

/**
 * Gives the network namespace of `pid` a route out through slirp4netns: a user-mode TCP/IP
 * stack on the host that makes the script's connections as the runner. With
 * `--disable-host-loopback` its gateway (10.0.2.2) does not lead to the host's 127.0.0.1,
 * so platform services bound to loopback stay out of reach; anything the host serves on
 * another address is reachable, like the rest of the network. slirp4netns runs in a mount
 * namespace of its own with its own seccomp filter. Resolves once the interface is up.
 */
export async function startInternet(slirpPath: string, pid: number): Promise<Internet> {
  await loopbackAddressed(pid);
  return spawnSlirp(slirpPath, pid);
}

/**
 * Waits until bwrap has given the namespace's loopback its address. slirp4netns brings `lo`
 * up as it configures, and the kernel then adds 127.0.0.1 by itself: if that lands first,
 * bwrap's own exclusive RTM_NEWADDR fails and bwrap dies ("loopback: Failed RTM_NEWADDR").
 * Once the address exists, both only set the link up, which is idempotent.
 */
async function loopbackAddressed(pid: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    let routes: string;
    try {
      routes = await readFile(`/proc/${pid}/net/fib_trie`, "utf8");
    } catch {
      throw new SandboxError("SPAWN_FAILED", "the sandbox ended before its network was set up");
    }
    if (routes.includes("127.0.0.1")) return;
    if (Date.now() > deadline) throw new SandboxError("SPAWN_FAILED", `the sandbox's loopback had no address after ${READY_TIMEOUT_MS} ms`);
    await sleep(LOOPBACK_POLL_MS);
  }
}

function spawnSlirp(slirpPath: string, pid: number): Promise<Internet> {
  const child = spawn(
    slirpPath,
    ["--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp", "--ready-fd=3", "--exit-fd=4", String(pid), "tap0"],
    { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], env: {} },
  );
  child.on("error", () => {});
  const exitPipe = child.stdio[4] as Writable;
  exitPipe.on("error", () => {});
  let stderr = "";
  (child.stderr as Readable).on("data", (chunk: Buffer) => {
    if (stderr.length < MAX_STDERR_CHARS) stderr += chunk.toString("utf8");
  });
  const stop = (): void => {
    exitPipe.destroy();
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) signalPid(child.pid, "SIGTERM");
  };
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      stop();
      reject(new SandboxError("SPAWN_FAILED", `slirp4netns could not give the sandbox internet access: ${why}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    (child.stdio[3] as Readable).once("data", () => {
      clearTimeout(timer);
      resolve({ stop });
    });
    child.once("exit", (code, signal) => fail(`exited (${signal ?? `code ${code}`}): ${stderr.trim()}`));
  });
}
