import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { collect, findPython, makeJobDir } from "./support.js";

const python = findPython();
let job: ReturnType<typeof makeJobDir>;
beforeEach(() => {
  job = makeJobDir();
});
afterEach(() => job.cleanup());

/** The host's first non-loopback IPv4 address: where a service bound to 0.0.0.0 is also reachable. */
function hostAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === "IPv4" && !a.internal);
    if (found) return found.address;
  }
  throw new Error("this machine has no non-loopback IPv4 address to test with");
}

async function listen(host: string): Promise<{ server: Server; target: string }> {
  const server = createServer((socket) => socket.end("hello\n"));
  await new Promise<void>((res) => server.listen(0, host, res));
  return { server, target: `${host}:${(server.address() as { port: number }).port}` };
}

/** Connects to each host:port given; reports what came back or the errno name. */
const probe = [
  "import errno, json, socket, sys",
  "out = {}",
  "for target in sys.argv[1:]:",
  "    host, port = target.rsplit(':', 1)",
  "    try:",
  "        with socket.create_connection((host, int(port)), timeout=10) as s:",
  "            out[target] = 'received ' + s.recv(100).decode().strip()",
  "    except socket.timeout:",
  "        out[target] = 'timeout'",
  "    except OSError as e:",
  "        out[target] = errno.errorcode.get(e.errno, str(e))",
  "routes = [l.split()[0] for l in open('/proc/net/route').read().splitlines()[1:]]",
  "print(json.dumps({'connect': out, 'interfaces': sorted(n for _, n in socket.if_nameindex()), 'routes': routes,",
  "                  'resolv': open('/etc/resolv.conf').read()}))",
].join("\n");

interface ProbeReport {
  connect: Record<string, string>;
  interfaces: string[];
  routes: string[];
  resolv: string;
}

async function runProbe(targets: string[], internet: boolean): Promise<ProbeReport> {
  const { result, stdout, stderr } = await collect({
    command: python.executable,
    args: ["-u", "-c", probe, ...targets],
    cwd: job.dir,
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
    readOnlyPaths: python.prefixes,
    timeoutMs: 120_000,
    internet,
  });
  expect({ exitCode: result.exitCode, stderr }).toEqual({ exitCode: 0, stderr: [] });
  return JSON.parse(stdout.at(-1) ?? "null") as ProbeReport;
}

describe("the sandbox's network", () => {
  let loopback: { server: Server; target: string };
  let external: { server: Server; target: string };
  beforeAll(async () => {
    loopback = await listen("127.0.0.1");
    external = await listen(hostAddress());
  });
  afterAll(async () => {
    for (const { server } of [loopback, external]) await new Promise<void>((res) => server.close(() => res()));
  });

  it("reaches none of the host's servers, on loopback or on its own address, and has no route out", async () => {
    const [, loopbackPort] = loopback.target.split(":");
    const report = await runProbe([loopback.target, external.target, `198.51.100.7:${loopbackPort}`], false);
    // 127.0.0.1 is the sandbox's own loopback, where nothing listens.
    expect(report.connect).toEqual({
      [loopback.target]: "ECONNREFUSED",
      [external.target]: "ENETUNREACH",
      [`198.51.100.7:${loopbackPort}`]: "ENETUNREACH",
    });
    expect(report.interfaces).toEqual(["lo"]);
    expect(report.routes).toEqual([]);
  });

  it("with internet, has a route out while the host's loopback stays unreachable", async () => {
    const [, loopbackPort] = loopback.target.split(":");
    const report = await runProbe([loopback.target, `10.0.2.2:${loopbackPort}`, external.target], true);
    expect(report.connect[loopback.target]).toBe("ECONNREFUSED");
    // slirp4netns's gateway is the host's loopback unless --disable-host-loopback.
    expect(report.connect[`10.0.2.2:${loopbackPort}`]).not.toMatch(/^received/);
    // Out through the host: a service on the host's own address is as reachable as any other
    // machine's (which is why platform services bind loopback).
    expect(report.connect[external.target]).toBe("received hello");
    expect(report.interfaces).toEqual(["lo", "tap0"]);
    expect(report.routes).toContain("tap0");
    expect(report.resolv.trim()).toBe("nameserver 10.0.2.3");
  });
});
