import { layoutOf } from "../src/layout.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TOOL_VERSIONS } from "@asgard/tools";
import { parseConstraints, platformConstraints, PyEnvError } from "../src/index.js";
import { exec, freshRoot, testManager } from "./helpers.js";

const lockOf = (root: string, requestKey: string) => readFile(join(layoutOf(root).locks, `${requestKey}.txt`), "utf8");

describe("platform constraints (real uv, real index)", () => {
  // requests pulls idna, urllib3, certifi and charset-normalizer; six is a test pin.
  const set = parseConstraints("idna==3.6\nurllib3==2.0.7\nsix==1.17.0\n", "test set");

  it("fix the versions of packages the request does not name; a package the request or a pin names is exempt", async () => {
    const root = await freshRoot("constraints");
    const manager = await testManager(root, { constraints: set });
    const plain = await manager.acquire(["requests"]);
    const lock = await lockOf(root, plain.requestKey);
    expect(lock).toMatch(/^idna==3\.6$/m);
    expect(lock).toMatch(/^urllib3==2\.0\.7$/m);
    // The pin six==1.16.0 names six: its constraint entry is dropped, the pin holds.
    expect(lock).toMatch(/^six==1\.16\.0$/m);
    const run = await exec(plain.python, ["-c", "import idna, urllib3; print(idna.__version__, urllib3.__version__)"]);
    expect(run.out.trim()).toBe("3.6 2.0.7");
    const meta = JSON.parse(await readFile(join(layoutOf(root).envs, `${plain.envKey}.json`), "utf8")) as Record<string, unknown>;
    expect(meta.constraints).toBe(set.version);

    const named = await manager.acquire(["requests", "IDNA==3.7"]);
    const namedLock = await lockOf(root, named.requestKey);
    expect(namedLock).toMatch(/^idna==3\.7$/m);
    expect(namedLock).toMatch(/^urllib3==2\.0\.7$/m);
    await plain.release();
    await named.release();
  });

  it("put their version in the env key: another set never reuses an env, even with the same lock", async () => {
    const root = await freshRoot("constraints-keys");
    const first = await testManager(root, { constraints: set });
    const a = await first.acquire(["iniconfig"]);
    const other = await testManager(root, { constraints: parseConstraints("idna==3.7\n", "another set") });
    const b = await other.acquire(["iniconfig"]);
    expect(await lockOf(root, b.requestKey)).toBe(await lockOf(root, a.requestKey));
    expect(b.requestKey).not.toBe(a.requestKey);
    expect(b.envKey).not.toBe(a.envKey);
    expect(b.envHit).toBe(false);
    await a.release();
    await b.release();
  });

  it("exclude a package nobody named, and keep it when the request names it", async () => {
    const root = await freshRoot("excludes");
    const manager = await testManager(root, { excludes: ["IDNA"] });
    const without = await manager.acquire(["requests"]);
    expect(await lockOf(root, without.requestKey)).not.toMatch(/^idna==/m);
    const named = await manager.acquire(["requests", "idna"]);
    expect(await lockOf(root, named.requestKey)).toMatch(/^idna==/m);
    expect(named.requestKey).not.toBe(without.requestKey);
    await without.release();
    await named.release();
    await expect(testManager(root, { excludes: ["idna>=3"] })).rejects.toThrow(/bare package name/);
  });
});

describe("the committed set with the server's MLflow (real resolution)", () => {
  const pins = [`mlflow==${TOOL_VERSIONS.mlflow}`];

  it("a user's pin that MLflow cannot live with fails naming the conflict", async () => {
    const root = await freshRoot("conflict");
    // The machine's uv cache: MLflow's metadata is there after the first run.
    const manager = await testManager(root, { pins, constraints: platformConstraints(), uvCacheDir: undefined });
    const err = await manager.acquire(["click<7"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyEnvError);
    expect((err as PyEnvError).code).toBe("LOCK_FAILED");
    const message = (err as PyEnvError).message;
    expect(message).toContain(`the requirements and the platform's mlflow==${TOOL_VERSIONS.mlflow} cannot be resolved together`);
    expect(message).toMatch(/you require click<7 and mlflow==/);
    expect(manager.stats().builds).toBe(0);
  });

  it("a user asking for scikit-learn==1.5.2 gets it; what they did not name stays at the committed versions", async () => {
    const constraints = platformConstraints();
    const committed = (name: string) => constraints.lines.find((l) => l.startsWith(`${name}==`) && !l.includes(";"));
    const root = await freshRoot("sklearn-pin");
    const manager = await testManager(root, { pins, constraints, uvCacheDir: undefined });
    const lease = await manager.acquire(["scikit-learn==1.5.2"]);
    const lock = await lockOf(root, lease.requestKey);
    expect(lock).toMatch(/^scikit-learn==1\.5\.2$/m);
    for (const name of ["skops", "cloudpickle", "pandas", "pyarrow", "sqlalchemy"]) {
      const line = committed(name);
      expect(line, name).toBeDefined();
      expect(lock).toContain(`${line}\n`);
    }
    const run = await exec(lease.python, ["-c", "import sklearn, mlflow; print(sklearn.__version__, mlflow.__version__)"]);
    expect(run.out.trim().split("\n").pop()).toBe(`1.5.2 ${TOOL_VERSIONS.mlflow}`);
    await lease.release();
  }, 900_000);
});
