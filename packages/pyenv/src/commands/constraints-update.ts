import { writeFile } from "node:fs/promises";
import { ensureUv, pythonExecutable, TOOL_VERSIONS } from "@asgard/infra";
import { PLATFORM_CONSTRAINTS_FILE } from "../constraints.js";
import { describeChanges, readSet, resolvePlatformLayer } from "./resolve-platform.js";

/**
 * `npm run constraints:update`: resolves the platform's Python layer again (newest versions
 * for the pinned MLflow) and writes the committed set. Run `npm run check:fresh` first: it
 * tests exactly this resolution. Changing the set changes every env key, so jobs build anew.
 */
const { text, set } = await resolvePlatformLayer({
  uvPath: await ensureUv(),
  uvVersion: TOOL_VERSIONS.uv,
  python: pythonExecutable(),
  mlflowVersion: TOOL_VERSIONS.mlflow,
  ...(process.env.PIP_INDEX_URL_FOR_JOBS ? { indexUrl: process.env.PIP_INDEX_URL_FOR_JOBS } : {}),
});
const before = await readSet(PLATFORM_CONSTRAINTS_FILE).catch(() => null);
const changes = before ? describeChanges(before, set) : set.lines.map((l) => `+ ${l}`);
await writeFile(PLATFORM_CONSTRAINTS_FILE, text);
console.log(changes.length === 0 ? "The platform constraints did not change." : `Changed (${changes.length}):\n${changes.join("\n")}`);
console.log(`Wrote ${PLATFORM_CONSTRAINTS_FILE} (version ${set.version}${before ? `, was ${before.version}` : ""}).`);
