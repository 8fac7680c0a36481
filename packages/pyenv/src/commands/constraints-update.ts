import { ensureUv, pythonExecutable, TOOL_VERSIONS } from "@asgard/tools";
import { platformConstraints } from "../constraints.js";
import { describeChanges, resolvePlatformLayer, writeCommittedSet } from "./resolve-platform.js";

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
const before = platformConstraints();
const changes = describeChanges(before, set);
const file = await writeCommittedSet(text);
console.log(changes.length === 0 ? "The platform constraints did not change." : `Changed (${changes.length}):\n${changes.join("\n")}`);
console.log(`Wrote ${file} (version ${set.version}, was ${before.version}).`);
