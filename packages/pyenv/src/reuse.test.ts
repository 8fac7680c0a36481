import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { envMetaFile, layoutOf, type Layout } from "./layout.js";
import { satisfyingEnvs, type EnvMeta } from "./reuse.js";

const KEY_A = "a".repeat(64);
const KEY_B = "b".repeat(64);
const query = { python: "cpython-3.11.7", platform: "linux-x86_64", constraints: undefined, requirements: ["numpy==2.1.0"] };

describe("satisfyingEnvs and scopes", () => {
  let root: string;
  let layout: Layout;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "reuse-"));
    layout = layoutOf(root);
    await mkdir(layout.envs, { recursive: true });
    const meta = (scope?: string): EnvMeta => ({
      created_at: new Date(0).toISOString(),
      bytes: 1,
      python: query.python,
      platform: query.platform,
      packages: { numpy: "2.1.0", "evil-extra": "1.0" },
      ...(scope ? { scope } : {}),
    });
    await writeFile(envMetaFile(layout, KEY_A), JSON.stringify(meta("team-a")));
    await writeFile(envMetaFile(layout, KEY_B), JSON.stringify(meta()));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("offers a scope only the envs built for it: another team's env may hold packages it never asked for", async () => {
    expect(await satisfyingEnvs(layout, { ...query, scope: "team-a" })).toEqual([KEY_A]);
    expect(await satisfyingEnvs(layout, { ...query, scope: "team-b" })).toEqual([]);
    expect(await satisfyingEnvs(layout, { ...query, scope: undefined })).toEqual([KEY_B]);
  });
});
