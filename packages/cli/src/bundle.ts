import { resolve } from "node:path";
import { bundleServices } from "./bundler.js";
import { SERVICES, type ServiceName } from "./services.js";

/**
 * `npm run bundle [--out DIR] [service …]`: the production bundle of each service (all of
 * them by default) under DIR (default `dist/bundles`), as the container images use it.
 * bootstrap.mjs builds the services first; the bundles are made from their builds.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let outDir = "dist/bundles";
  const services: ServiceName[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--out") {
      const value = args[++i];
      if (!value) throw new UsageError("--out needs a directory");
      outDir = value;
    } else if (arg && (SERVICES as readonly string[]).includes(arg)) {
      services.push(arg as ServiceName);
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}; services are ${SERVICES.join(", ")}`);
    }
  }
  const root = process.cwd();
  const bundles = await bundleServices(services.length > 0 ? services : SERVICES, { root, outDir: resolve(root, outDir) });
  for (const b of bundles) process.stdout.write(`${b.service}: ${b.entry} (${Math.round(b.bytes / 1024)} KiB)\n`);
}

class UsageError extends Error {
  override readonly name = "UsageError";
}

main().catch((err: unknown) => {
  process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
