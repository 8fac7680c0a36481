import { spawnSync } from "node:child_process";
import { join } from "node:path";

/**
 * `npm run lint`: Biome over every TypeScript source with the rules in biome.json (unused
 * variables and imports, floating promises, focused or skipped tests, non-null assertions
 * outside tests), then knip over the workspace with knip.json (files nothing imports, exports
 * nothing uses, dependencies a package declares but never imports). `npm test` runs it
 * before the tests. Answers the first non-zero exit code.
 */
export function lint(root: string, biomeArgs: string[] = []): number {
  const bin = (name: string) => join(root, "node_modules", ".bin", name);
  const steps: [string, string[]][] = [
    [bin("biome"), ["lint", "--error-on-warnings", ...biomeArgs]],
    [bin("knip"), ["--no-progress"]],
  ];
  for (const [program, args] of steps) {
    const status = spawnSync(program, args, { cwd: root, stdio: "inherit" }).status ?? 1;
    if (status !== 0) return status;
  }
  return 0;
}
