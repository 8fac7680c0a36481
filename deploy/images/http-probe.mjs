// Container health probe: `node http-probe.mjs <port | PORT_VARIABLE> <path>` exits 0 when
// GET http://<host>:<port><path> answers 2xx within 2 s, 1 otherwise. Node is the only
// program every image has (no curl or wget in the slim images). The host is the address the
// service binds, from the variable named like the port's (METRICS_PORT → METRICS_HOST,
// PORT → HOST): a pod binds its own IP, not loopback. Unset or a wildcard: 127.0.0.1.
const [portArg, path] = process.argv.slice(2);
const port = /^\d+$/.test(portArg ?? "") ? portArg : process.env[portArg ?? ""];
const bound = /^[A-Z_]*PORT$/.test(portArg ?? "") ? process.env[(portArg ?? "").replace(/PORT$/, "HOST")] : undefined;
const host = !bound || bound === "0.0.0.0" || bound === "::" ? "127.0.0.1" : bound.includes(":") ? `[${bound}]` : bound;
if (!port || !path?.startsWith("/")) {
  process.stderr.write("usage: http-probe.mjs <port | PORT_VARIABLE> </path>\n");
  process.exit(2);
}
fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(2_000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
