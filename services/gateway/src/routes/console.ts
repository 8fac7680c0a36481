import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import { ASSETS_PREFIX, CONSOLE_DIR, CONSOLE_PAGES } from "@asgard/console";
import { HttpError } from "../http-errors.js";

/**
 * The console's pages may load only what the gateway itself serves and call only the
 * gateway: no inline script or style, no frames, no foreign origin.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

interface Files {
  index: Buffer;
  assets: Map<string, { body: Buffer; type: string }>;
}

/**
 * Serves the web console (built by `@asgard/console`): `index.html` for every client-side
 * page and the hashed bundle under `/assets/`. These files are public — the console asks
 * for a key and sends it with each API call, never as a cookie. The files are read on the
 * first request (not at start-up, so a gateway started before the build still serves it)
 * and kept; a missing build is a 503 saying how to build it.
 */
export function consoleRoutes(app: FastifyInstance, opts: { dir?: string } = {}): void {
  const dir = opts.dir ?? CONSOLE_DIR;
  let files: Promise<Files> | null = null;
  const load = () => {
    files ??= readFiles(dir).catch((err: unknown) => {
      files = null;
      throw err;
    });
    return files;
  };
  const config = { access: "public" } as const;
  const page = async (_req: unknown, reply: FastifyReply) => {
    const { index } = await load();
    return reply
      .type("text/html; charset=utf-8")
      .header("content-security-policy", CONSOLE_CSP)
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      .header("cache-control", "no-cache")
      .send(index);
  };
  for (const path of CONSOLE_PAGES) app.get(path, { config, schema: { hide: true } }, page);
  app.get<{ Params: { file: string } }>(`${ASSETS_PREFIX}:file`, { config, schema: { hide: true } }, async (req, reply) => {
    const asset = (await load()).assets.get(req.params.file);
    if (!asset) return reply.callNotFound();
    return reply
      .type(asset.type)
      .header("x-content-type-options", "nosniff")
      // Names carry a hash of the content: a new build has new names.
      .header("cache-control", "public, max-age=31536000, immutable")
      .send(asset.body);
  });
}

async function readFiles(dir: string): Promise<Files> {
  try {
    const index = await readFile(join(dir, "index.html"));
    const assets = new Map<string, { body: Buffer; type: string }>();
    for (const name of await readdir(join(dir, "assets"))) {
      const type = TYPES[extname(name)];
      if (type) assets.set(name, { body: await readFile(join(dir, "assets", name)), type });
    }
    return { index, assets };
  } catch {
    throw new HttpError("UNAVAILABLE", "the web console is not built: run `corepack pnpm --filter @asgard/console build` (npm start builds it)");
  }
}
