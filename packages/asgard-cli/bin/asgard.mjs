#!/usr/bin/env node
// `npx asgard` in a clone: the TypeScript sources run through tsx, no build needed. The
// packed tarball (`npm run pack` here) carries a bundle instead, with its own entry.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
