import { describe, expect, it } from "vitest";
import { canonicalLock, envKeyOf, lockedPackages, parseInterpreterInfo, requestKeyOf, type InterpreterInfo } from "./keys.js";

const py: InterpreterInfo = { implementation: "CPython", version: "3.11.7", system: "Linux", machine: "x86_64" };
const base = { requirements: ["idna>=3", "six"], pins: ["six==1.16.0"], interpreter: py, indexUrl: undefined };

describe("requestKeyOf", () => {
  it("is a sha256 that changes with every input", () => {
    const key = requestKeyOf(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const variants = [
      requestKeyOf({ ...base, requirements: ["six"] }),
      requestKeyOf({ ...base, pins: [] }),
      requestKeyOf({ ...base, interpreter: { ...py, version: "3.11.8" } }),
      requestKeyOf({ ...base, interpreter: { ...py, machine: "aarch64" } }),
      requestKeyOf({ ...base, interpreter: { ...py, implementation: "PyPy" } }),
      requestKeyOf({ ...base, indexUrl: "https://pypi.example/simple" }),
    ];
    expect(new Set([key, ...variants]).size).toBe(variants.length + 1);
    expect(requestKeyOf({ ...base })).toBe(key);
  });

  it("changes with the constraint set's version and the exclusions, and is unchanged without them", () => {
    // Pinned: a change here means every cached lock is resolved again. Key format 2 (wheels
    // only) changed it on purpose; without constraints it stays what it is with none.
    const before = "11f453cfae19dc1ec4fe1b6af7b7d51c26c733f39ada29684dc9bea54dc3821d";
    expect(requestKeyOf(base)).toBe(before);
    expect(requestKeyOf({ ...base, constraints: undefined, excludes: [] })).toBe(before);
    const a = requestKeyOf({ ...base, constraints: "19e28ac352ec580b" });
    const b = requestKeyOf({ ...base, constraints: "0000000000000000" });
    const c = requestKeyOf({ ...base, excludes: ["nvidia-nccl-cu12"] });
    expect(new Set([before, a, b, c]).size).toBe(4);
  });

  it("changes when source builds are allowed (the resolution may then pick versions without wheels), and not otherwise", () => {
    expect(requestKeyOf({ ...base, sourceBuilds: false })).toBe(requestKeyOf(base));
    expect(requestKeyOf({ ...base, sourceBuilds: true })).not.toBe(requestKeyOf(base));
  });
});

describe("envKeyOf", () => {
  it("ignores comments, blank lines and line order of the lock", () => {
    const a = envKeyOf("six==1.16.0\nidna==3.10\n", py);
    const b = envKeyOf("# generated\nidna==3.10    # via -r -\n\n  six==1.16.0\n", py);
    expect(b).toBe(a);
    expect(envKeyOf("six==1.17.0\nidna==3.10\n", py)).not.toBe(a);
    expect(envKeyOf("six==1.16.0\nidna==3.10\n", { ...py, version: "3.12.1" })).not.toBe(a);
  });

  it("changes with the constraint set's version, even for the same lock, and is unchanged without one", () => {
    const lock = "six==1.16.0\nidna==3.10\n";
    // Pinned: a change here means every env is built again (key format 2, wheels only, did so on purpose).
    expect(envKeyOf(lock, py)).toBe("7e4a26a9597eca5302617c772cf22626b3f288d85abd0fae97d77915473d0ef3");
    expect(envKeyOf(lock, py, undefined)).toBe(envKeyOf(lock, py));
    expect(envKeyOf(lock, py, "19e28ac352ec580b")).not.toBe(envKeyOf(lock, py));
    expect(envKeyOf(lock, py, "19e28ac352ec580b")).not.toBe(envKeyOf(lock, py, "0000000000000000"));
  });

  it("keeps what a lock line installs", () => {
    expect(canonicalLock("b==2\n# c\na==1 ; python_version >= \"3\"\n")).toBe('a==1 ; python_version >= "3"\nb==2');
  });
});

describe("lockedPackages", () => {
  it("reads name → version from a lock, names normalized", () => {
    expect(lockedPackages("# header\nScikit_Learn==1.5.2\n    # via -r -\nnumpy==2.4.6\n")).toEqual({ "scikit-learn": "1.5.2", numpy: "2.4.6" });
  });
});

describe("parseInterpreterInfo", () => {
  it("reads the probe's last line", () => {
    const out = 'noise\n{"implementation": "CPython", "version": "3.11.7", "system": "Linux", "machine": "x86_64"}\n';
    expect(parseInterpreterInfo(out)).toEqual(py);
  });

  it("refuses an incomplete answer", () => {
    expect(() => parseInterpreterInfo('{"implementation": "CPython", "version": ""}')).toThrow(/version/);
    expect(() => parseInterpreterInfo("not json")).toThrow();
  });
});
