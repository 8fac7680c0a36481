import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSED_THROUGH_ENV, PyEnvError } from "../src/index.js";
import { freshRoot, recordedCalls, recordingUv, testManager, uvCacheDir } from "./helpers.js";

let root: string;
let calls: string;

beforeAll(async () => {
  root = await freshRoot("isolation");
  calls = join(root, "calls");
  process.env.SECRET_CANARY = "1";
  process.env.UV_INDEX_URL = "https://index.invalid/simple";
  process.env.PIP_INDEX_URL = "https://index.invalid/simple";
});

afterAll(() => {
  delete process.env.SECRET_CANARY;
  delete process.env.UV_INDEX_URL;
  delete process.env.PIP_INDEX_URL;
});

describe("what uv is given", () => {
  it("runs every uv command with the allow-listed environment only, never the caller's variables", async () => {
    const manager = await testManager(root, { uvPath: await recordingUv(calls) });
    const lease = await manager.acquire(["iniconfig"]);
    await lease.release();
    const recorded = await recordedCalls(calls);
    // compile, venv, sync
    const commands = recorded.map((c) => (c.args[0] === "pip" ? `pip ${c.args[1]}` : c.args[0]));
    expect(commands.sort()).toEqual(["pip compile", "pip sync", "venv"]);
    // `env` itself may add PWD/SHLVL/_ for the recording shell; none of them came from us.
    const shellOwn = new Set(["PWD", "SHLVL", "_", "OLDPWD"]);
    const allowed = new Set([...PASSED_THROUGH_ENV, "UV_NO_CONFIG", "UV_PYTHON_DOWNLOADS", "UV_CACHE_DIR"]);
    for (const call of recorded) {
      expect(call.env).not.toHaveProperty("SECRET_CANARY");
      expect(call.env).not.toHaveProperty("UV_INDEX_URL");
      expect(call.env).not.toHaveProperty("PIP_INDEX_URL");
      expect(call.env.UV_NO_CONFIG).toBe("1");
      expect(call.env.UV_CACHE_DIR).toBe(uvCacheDir());
      expect(Object.keys(call.env).filter((k) => !allowed.has(k) && !shellOwn.has(k))).toEqual([]);
      expect(call.args).toContain("--no-config");
    }
    // Requirements reach uv on stdin, never as arguments.
    const compile = recorded.find((c) => c.args[1] === "compile");
    expect(compile?.args.at(-1)).toBe("-");
    expect(compile?.args.join(" ")).not.toContain("iniconfig");
  });

  it("passes the operator's index and nothing else", async () => {
    const indexCalls = join(root, "index-calls");
    const manager = await testManager(await freshRoot("isolation-index"), {
      uvPath: await recordingUv(indexCalls),
      indexUrl: "https://pypi.org/simple",
    });
    const lease = await manager.acquire(["iniconfig"]);
    await lease.release();
    const recorded = await recordedCalls(indexCalls);
    for (const call of recorded.filter((c) => c.args[0] === "pip")) {
      const at = call.args.indexOf("--index-url");
      expect(call.args[at + 1]).toBe("https://pypi.org/simple");
    }
  });
});

describe("invalid requirements", () => {
  it.each([
    ["-r /etc/passwd"],
    ["pkg @ file:///etc"],
    ["https://x"],
    ["$X"],
    ["a b"],
    ["six\n--index-url https://evil.example/simple"],
    ["six # comment"],
    ['six; os_name == "nt" --index-url x'],
  ])("refuses %j before uv runs", async (bad) => {
    const refusedCalls = join(root, `refused-${Math.random().toString(16).slice(2)}`);
    const manager = await testManager(root, { uvPath: await recordingUv(refusedCalls) });
    const err = await manager.acquire(["iniconfig", bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyEnvError);
    expect(err).toMatchObject({ code: "INVALID_REQUIREMENT" });
    expect((err as PyEnvError).message).toContain(`requirement 2 (${JSON.stringify(bad)})`);
    expect(manager.stats()).toEqual({ builds: 0, compiles: 0, lockHits: 0, envHits: 0, reuses: 0 });
    expect((await readdir(refusedCalls)).filter((n) => n.endsWith(".args"))).toEqual([]);
  });

  it("accepts an environment marker, as the upload API does, and uv evaluates it for this interpreter", async () => {
    const manager = await testManager(root);
    const lease = await manager.acquire(['iniconfig; os_name == "nt"', "idna; python_version >= '3'"]);
    const lock = await readFile(join(lease.path, "asgard-lock.txt"), "utf8");
    expect(lock).toMatch(/^idna==/m);
    expect(lock).not.toMatch(/iniconfig/);
    await lease.release();
  });

  it("hands uv grouped markers in a canonical form it evaluates as written", async () => {
    const manager = await testManager(root);
    // Without its parentheses the first marker would hold here (os_name == "posix" or …).
    const lease = await manager.acquire([
      "iniconfig; (os_name == 'posix' or os_name == 'nt') and sys_platform == 'win32'",
      'idna; python_version >= "3" and ((os_name == "posix" or os_name == "nt"))',
    ]);
    const lock = await readFile(join(lease.path, "asgard-lock.txt"), "utf8");
    expect(lock).toMatch(/^idna==/m);
    expect(lock).not.toMatch(/iniconfig/);
    await lease.release();
  });
});
