// Container health probe: `node http-probe.mjs <port | PORT_VARIABLE> <path>` exits 0 when
// GET http://127.0.0.1:<port><path> answers 2xx within 2 s, 1 otherwise. Node is the only
// program every image has (no curl or wget in the slim images).
const [portArg, path] = process.argv.slice(2);
const port = /^\d+$/.test(portArg ?? "") ? portArg : process.env[portArg ?? ""];
if (!port || !path?.startsWith("/")) {
  process.stderr.write("usage: http-probe.mjs <port | PORT_VARIABLE> </path>\n");
  process.exit(2);
}
fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
