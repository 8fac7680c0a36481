import { join } from "node:path";
import { spawnManaged, type ManagedProcess } from "@asgard/infra";

const root = join(import.meta.dirname, "..", "..", "..");

/**
 * Node flags that run a TypeScript entry point with every workspace package read from its
 * sources (their `@asgard/source` export condition), as tests and benchmarks run services:
 * no build needed. `npm start` and the images run the builds instead.
 */
export const FROM_SOURCES = ["--conditions=@asgard/source", "--import", "tsx"] as const;

/** Starts a service's real entry point (`main.ts`) as its own process, collecting its output. */
export function startServiceProcess(
  name: string,
  env: Record<string, string>,
): ManagedProcess & { output: () => string } {
  let output = "";
  const proc = spawnManaged({
    name,
    command: process.execPath,
    args: [...FROM_SOURCES, join(root, "services", name, "src", "main.ts")],
    cwd: root,
    env: { ...operatorEnvironment(), LOG_LEVEL: "info", ...env },
    onLine: (line) => {
      output += `${line}\n`;
    },
  });
  return Object.assign(proc, { output: () => output });
}

/**
 * What an operator's machine gives every service: PATH, HOME, the CA bundle and proxy settings
 * (package downloads go through them here), the Python toolchain's root — nothing else of ours.
 */
function operatorEnvironment(): Record<string, string> {
  const keep = /^(PATH|HOME|LANG|PYENV_ROOT|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|NODE_EXTRA_CA_CERTS|(HTTPS?|NO|ALL)_PROXY|(https?|no|all)_proxy)$/;
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => keep.test(e[0]) && e[1] !== undefined));
}

/** Polls `url` until `check` passes; bounded by a number of tries. */
export async function pollUntil<T>(
  url: string,
  check: (status: number, body: T) => boolean,
  tries = 300,
  everyMs = 100,
): Promise<{ status: number; body: T }> {
  let last: { status: number; body: T } | undefined;
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(url);
      const body = (await res.json()) as T;
      last = { status: res.status, body };
      if (check(res.status, body)) return last;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${url}: condition never held; last answer ${JSON.stringify(last)}`);
}
