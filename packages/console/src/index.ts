import { fileURLToPath } from "node:url";

/**
 * Folder of the console's built static files (`index.html` and `assets/`), written by
 * `buildConsole()` (the package's `build` script). The same folder from the sources
 * (`src/`) and from the compiled package (`dist/`).
 */
export const CONSOLE_DIR = fileURLToPath(new URL("../dist/www/", import.meta.url));

/**
 * Client-side pages. The gateway answers each of these paths (and any path below one
 * ending in `/*`) with `index.html`; the console's router draws the page.
 */
export const CONSOLE_PAGES = ["/", "/jobs", "/jobs/*", "/new", "/models", "/models/*"] as const;

/** Where the bundle's files are served from (hashed names, cached for good). */
export const ASSETS_PREFIX = "/assets/";
