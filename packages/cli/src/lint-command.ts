import { lint } from "./lint.js";

/** `npm run lint [biome args…]`, run by bootstrap.mjs from the clone's root. */
process.exit(lint(process.cwd(), process.argv.slice(2)));
