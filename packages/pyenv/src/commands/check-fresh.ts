import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureUv, pythonExecutable, TOOL_VERSIONS } from "@asgard/tools";
import { platformConstraints } from "../constraints.js";
import { describeChanges, resolvePlatformLayer, writeCommittedSet } from "./resolve-platform.js";

/**
 * `npm run check:fresh [-- --update] [vitest filters]`: catches the next drift of the Python
 * ecosystem before users meet it. With an empty uv cache and an empty env cache it resolves
 * the platform's layer afresh (newest versions, ignoring the committed constraints), shows
 * what changed against the committed set, then runs the end-to-end tests (every file under
 * test/e2e unless filters are given) with job and model envs built under the fresh set.
 * `--update` writes the fresh set as the committed one when the tests pass.
 */
const args = process.argv.slice(2);
const update = args.includes("--update");
const filters = args.filter((a) => a !== "--update");
const dir = await mkdtemp(join(tmpdir(), "asgard-check-fresh-"));
const uvCacheDir = join(dir, "uv-cache");

try {
  console.log(`Resolving mlflow==${TOOL_VERSIONS.mlflow} and everything it pulls in afresh (empty uv cache in ${uvCacheDir})…`);
  const fresh = await resolvePlatformLayer({
    uvPath: await ensureUv(),
    uvVersion: TOOL_VERSIONS.uv,
    python: pythonExecutable(),
    mlflowVersion: TOOL_VERSIONS.mlflow,
    uvCacheDir,
    ...(process.env.PIP_INDEX_URL_FOR_JOBS ? { indexUrl: process.env.PIP_INDEX_URL_FOR_JOBS } : {}),
  });
  const freshFile = join(dir, "platform.txt");
  await writeFile(freshFile, fresh.text);
  const committed = platformConstraints();
  const changes = describeChanges(committed, fresh.set);
  console.log(
    changes.length === 0
      ? `No change against the committed set (version ${committed.version}).`
      : `Against the committed set (${committed.version} -> ${fresh.set.version}), ${changes.length} change(s):\n${changes.map((c) => `  ${c}`).join("\n")}`,
  );

  // `npm test` prepares the tools and type-checks first; every env it builds starts from
  // empty caches (the test run's own env cache, the empty uv cache) under the fresh set.
  console.log(`\nRunning the end-to-end tests against the fresh resolution…`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ["packages/cli/bootstrap.mjs", "test", ...(filters.length > 0 ? filters : ["test/e2e"])], {
      cwd: process.cwd(),
      stdio: "inherit",
      env: { ...process.env, ENV_CONSTRAINTS: freshFile, UV_CACHE_DIR: uvCacheDir },
    });
    child.on("exit", (c) => resolve(c ?? 1));
  });

  console.log(`\ncheck:fresh: ${changes.length} change(s) in the platform's packages; end-to-end tests ${code === 0 ? "passed" : "FAILED"}.`);
  if (code === 0 && changes.length > 0) {
    if (update) {
      const file = await writeCommittedSet(fresh.text);
      console.log(`Wrote the tested set to ${file} (version ${fresh.set.version}); commit it.`);
    } else {
      console.log("To adopt it: npm run check:fresh -- --update (writes exactly this tested set), then commit.");
    }
  }
  if (code !== 0) console.log("The committed set still holds for users; fix what broke before adopting the new versions.");
  process.exitCode = code;
} finally {
  await rm(dir, { recursive: true, force: true });
}
