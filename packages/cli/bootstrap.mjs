#!/usr/bin/env node
// Entry point of `npm start`, `npm test` and `npm run bench` on a fresh clone. It may use
// nothing but Node itself: it installs the workspace with the pnpm version pinned in the
// root package.json (through corepack, verified by its sha512), then hands over to the
// TypeScript command of the same name.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const command = process.argv[2];
const commands = {
  start: "packages/cli/src/start.ts",
  test: "packages/cli/src/test.ts",
  bench: "packages/cli/src/bench.ts",
  keys: "packages/cli/src/keys.ts",
  "check:fresh": "packages/pyenv/src/commands/check-fresh.ts",
  "constraints:update": "packages/pyenv/src/commands/constraints-update.ts",
};

if (!(command in commands)) {
  console.error(`usage: node packages/cli/bootstrap.mjs <${Object.keys(commands).join("|")}> [args]`);
  process.exit(2);
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 18)) {
  console.error(`Asgard needs Node.js 20.18 or newer; this is ${process.versions.node}.`);
  process.exit(2);
}

const env = { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: "0" };
const install = spawnSync("corepack", ["pnpm", "install", "--frozen-lockfile", "--prefer-offline", "--reporter=silent"], {
  cwd: root,
  env,
  stdio: "inherit",
});
if (install.error || install.status !== 0) {
  console.error(
    install.error?.code === "ENOENT"
      ? "corepack was not found: it ships with Node.js (enable it with `corepack enable` or reinstall Node 20)."
      : "Installing the workspace failed (see above).",
  );
  process.exit(install.status || 1);
}

const commandLine = [process.execPath, "--import", "tsx", join(root, commands[command]), ...process.argv.slice(3)];
// The kernel sends the command SIGTERM the moment we die, however we die (SIGKILL included):
// util-linux's setpriv sets PR_SET_PDEATHSIG before it execs. Without it, the watch below.
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
const [program, ...args] = setpriv ? [setpriv, "--pdeathsig", "TERM", "--", ...commandLine] : commandLine;
const child = spawn(program, args, { cwd: root, env, stdio: "inherit" });
// Ctrl-C reaches the child through the terminal's process group; SIGTERM from a
// supervisor does not, so pass it on and let the child stop everything it started.
for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
process.on("SIGINT", () => {});
// `npm start` runs us through `sh -c`; a SIGTERM to npm kills that shell without passing it on.
// Being re-parented means whoever started us is gone: stop as if told to.
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  child.kill("SIGTERM");
}, 1_000);
watch.unref();
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 1 : 1)));
