import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSandboxed, type SandboxMode, type SpawnSandboxedOptions } from "../src/index.js";
import { findPython, processesWith, remainingAfterPolls, uniqueMarker } from "./support.js";

const python = findPython();
const asRoot = process.getuid?.() === 0;

/**
 * A line-oriented echo server on stdin/stdout (the caller's protocol): each request line is
 * a Python expression, evaluated in the sandbox, answered with its JSON value on one line.
 */
const evalLoop = [
  "import json, os, socket, sys",
  "def connect(port):",
  "    try:",
  "        socket.create_connection(('127.0.0.1', port), timeout=5).close()",
  "        return 'connected'",
  "    except OSError as e:",
  "        return type(e).__name__",
  "def write(path, size=1):",
  "    try:",
  "        open(path, 'w').write('x' * size)",
  "        return 'written'",
  "    except OSError as e:",
  "        return type(e).__name__ if e.errno != 27 else 'EFBIG'",
  "def threads(n):",
  "    import threading, time",
  "    for i in range(n):",
  "        try:",
  "            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()",
  "        except RuntimeError:",
  "            return i",
  "    return n",
  "print('ready', file=sys.stderr, flush=True)",
  "for line in sys.stdin:",
  "    sys.stdout.write(json.dumps(eval(line)) + '\\n')",
  "    sys.stdout.flush()",
].join("\n");

function start(extra: Partial<SpawnSandboxedOptions> = {}): { proc: ReturnType<typeof spawnSandboxed>; stderr: string[]; ask(expr: string): Promise<unknown> } {
  const stderr: string[] = [];
  const proc = spawnSandboxed({
    command: python.executable,
    args: ["-u", "-c", evalLoop],
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
    readOnlyPaths: python.prefixes,
    onStderrLine: (line) => stderr.push(line),
    ...extra,
  });
  const answers = lineReader(proc.stdout);
  const ended = proc.done.then(
    (exit) => Promise.reject(new Error(`the process ended (${JSON.stringify(exit)}); its stderr:\n${stderr.join("\n")}`)),
    (err: unknown) => Promise.reject(err as Error),
  );
  ended.catch(() => undefined);
  return {
    proc,
    stderr,
    ask: async (expr) => {
      proc.stdin.write(`${expr}\n`);
      return JSON.parse(await Promise.race([answers(), ended])) as unknown;
    },
  };
}

/** The next line of `stream`, each call in turn. */
function lineReader(stream: Readable): () => Promise<string> {
  let buffered = "";
  const waiting: Array<(line: string) => void> = [];
  const lines: string[] = [];
  stream.setEncoding("utf8");
  stream.on("data", (text: string) => {
    buffered += text;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
    while (lines.length > 0 && waiting.length > 0) (waiting.shift() as (l: string) => void)(lines.shift() as string);
  });
  return () => (lines.length > 0 ? Promise.resolve(lines.shift() as string) : new Promise((res) => waiting.push(res)));
}

let server: Server;
let port: number;
let readOnlyDir: string;
beforeAll(async () => {
  server = createServer((s) => s.end());
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  port = (server.address() as { port: number }).port;
  readOnlyDir = mkdtempSync(join(tmpdir(), "sandboxed-ro-"));
  writeFileSync(join(readOnlyDir, "model.txt"), "weights");
  // Open to everyone: only the read-only bind may stop a write.
  chmodSync(readOnlyDir, 0o777);
  chmodSync(join(readOnlyDir, "model.txt"), 0o666);
});
afterAll(async () => {
  await new Promise((res) => server.close(res));
  rmSync(readOnlyDir, { recursive: true, force: true });
});

describe("spawnSandboxed", () => {
  it("talks over stdin/stdout and passes stderr lines, in a sandbox without network or writable host paths", async () => {
    process.env.SANDBOXED_CANARY = "must-not-leak";
    const { proc, stderr, ask } = start({ readOnlyPaths: [...python.prefixes, readOnlyDir] });
    try {
      expect(await ask("1 + 1")).toBe(2);
      expect(await ask(`connect(${port})`)).not.toBe("connected");
      expect(await ask("sorted(os.environ)")).toEqual(["HOME", "LANG", "PATH", "PWD"]);
      expect(await ask("os.getcwd()")).toBe("/tmp");
      expect(await ask(`write('${readOnlyDir}/model.txt')`)).toBe("OSError");
      expect(await ask(`open('${readOnlyDir}/model.txt').read()`)).toBe("weights");
      expect(await ask("write('/tmp/scratch')")).toBe("written");
      const pids = (await ask("[int(p) for p in os.listdir('/proc') if p.isdigit()]")) as number[];
      expect(pids).not.toContain(process.pid);
      expect(Math.max(...pids)).toBeLessThan(10);
      expect(await ask("[l for l in open('/proc/net/dev').read().split()[1:] if l.endswith(':')]")).toEqual(["lo:"]);
      if (asRoot) expect(await ask("[os.getuid(), os.getgid()]")).toEqual([65534, 65534]);
      expect(await ask("open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0]")).toBe("1");
      expect(await ask("open('/proc/self/status').read().split('Seccomp:')[1].split()[0]")).toBe("2");
      expect(stderr).toContain("ready");
      expect((await proc.processIds()).length).toBeGreaterThan(0);
    } finally {
      delete process.env.SANDBOXED_CANARY;
      proc.stdin.end();
    }
    const exit = await proc.done;
    expect(exit).toMatchObject({ exitCode: 0, killed: false, limitExceeded: null });
    expect(await proc.processIds()).toEqual([]);
  }, 120_000);

  it("applies the limits it is given", async () => {
    const { proc, ask } = start({ limits: { fileSizeBytes: 1024 * 1024, pids: 16 } });
    expect(await ask("write('/tmp/small', 1000)")).toBe("written");
    // Python ignores SIGXFSZ: past RLIMIT_FSIZE the write fails with EFBIG instead.
    expect(await ask("write('/tmp/big', 2 * 1024 * 1024)")).toBe("EFBIG");
    expect(await ask("threads(32)")).toBeLessThan(16);
    proc.kill("now");
    const exit = await proc.done;
    expect(exit.limitsHit).toContain("pids");
  }, 120_000);

  for (const how of ["graceful", "now"] as const) {
    it(`kill("${how}") ends the process and everything it started`, async () => {
      const marker = uniqueMarker();
      const { proc, ask } = start({ graceMs: 1000 });
      // A daemon in a session of its own: it escapes a process group, not the sandbox.
      await ask(`__import__('subprocess').Popen([sys.executable, '-c', 'import time; time.sleep(300)', '${marker}'], start_new_session=True).pid`);
      expect(processesWith(marker)).toHaveLength(1);
      proc.kill(how);
      const exit = await proc.done;
      expect(exit.killed).toBe(true);
      expect(await remainingAfterPolls(marker)).toEqual([]);
    }, 120_000);
  }

  it("process-group mode (the explicit opt-out) keeps the same pipes", async () => {
    const mode: SandboxMode = "process-group";
    // Without a mount namespace the process needs an interpreter its uid can reach on the host.
    const { proc, ask } = start({ mode, command: "/usr/bin/python3" });
    expect(await ask("21 * 2")).toBe(42);
    if (asRoot) expect(await ask("os.getuid()")).toBe(65534);
    proc.stdin.end();
    expect(await proc.done).toMatchObject({ exitCode: 0, killed: false });
  }, 120_000);
});
