#!/usr/bin/env node
// `npx asgard` in a clone: the TypeScript sources run through tsx, no build needed, and so do
// the workspace modules the CLI uses (their `@asgard/source` export). The packed tarball
// (`npm run pack` here) carries a bundle instead, with its own entry.
import { register as registerHooks } from "node:module";
import { register } from "tsx/esm/api";

register();
// Registered after tsx, so it runs first: tsx and Node resolve with the condition added.
registerHooks(
  "data:text/javascript,export const resolve = (specifier, context, next) => next(specifier, { ...context, conditions: [...context.conditions, '@asgard/source'] });",
);
await import("../src/main.ts");
