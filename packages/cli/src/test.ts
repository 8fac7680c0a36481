import { spawn } from "node:child_process";
import { join } from "node:path";
import { DEBIAN_PACKAGES, ensureDebianPackages } from "@asgard/infra";
import {
  ensureFeastVenv,
  ensureKubectlVenv,
  ensureMlflowVenv,
  ensureNatsServerVenv,
  ensureSeaweedVenv,
  ensureUv,
} from "@asgard/tools";
import { lint } from "./lint.js";

/**
 * `npm test`: prepares what the harness runs (the Debian packages in use, uv, nats-server,
 * MLflow, SeaweedFS, Feast, kubectl),
 * type-checks and lints the whole workspace, then runs every test once with vitest.
 */
const root = process.cwd();
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const started = Date.now();

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit", env: process.env });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  // Debian packages first: uv's own virtualenv needs python3-venv.
  const debian = await ensureDebianPackages(Object.values(DEBIAN_PACKAGES));
  if (debian.message) {
    process.stderr.write(`${debian.message}\n`);
    process.exit(2);
  }
  process.stdout.write("Preparing Python tools (cached after the first run)…\n");
  await Promise.all([
    ensureUv(),
    ensureNatsServerVenv(),
    ensureMlflowVenv(),
    ensureSeaweedVenv(),
    ensureFeastVenv(),
    ensureKubectlVenv(),
  ]);
  // One program over the whole workspace: far faster than a tsc per package.
  const typecheck = await run(bin("tsc"), ["-p", "tsconfig.json"]);
  if (typecheck !== 0) process.exit(typecheck);
  const linted = lint(root);
  if (linted !== 0) process.exit(linted);
  const code = await run(bin("vitest"), ["run", ...process.argv.slice(2)]);
  process.stdout.write(`npm test finished in ${Math.round((Date.now() - started) / 1000)} s\n`);
  process.exit(code);
}

main().catch((err: unknown) => {
  process.stderr.write(`npm test failed to prepare: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
