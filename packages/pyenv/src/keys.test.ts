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
    // The key computed before constraints existed: caches built then stay valid.
    const before = "ba08c7cb70e23ea2fe18315d8086a9b416dae82995afda0f2e49a172c39783ca";
    expect(requestKeyOf(base)).toBe(before);
    expect(requestKeyOf({ ...base, constraints: undefined, excludes: [] })).toBe(before);
    const a = requestKeyOf({ ...base, constraints: "19e28ac352ec580b" });
    const b = requestKeyOf({ ...base, constraints: "0000000000000000" });
    const c = requestKeyOf({ ...base, excludes: ["nvidia-nccl-cu12"] });
    expect(new Set([before, a, b, c]).size).toBe(4);
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
    expect(envKeyOf(lock, py)).toBe("4bfcbc59e6fcbd37db940c34c6a1ed6b68c6ea26c214628424609c2c45ccce9e");
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
