import { describe, expect, it } from "vitest";
import { canonicalLock, envKeyOf, parseInterpreterInfo, requestKeyOf, type InterpreterInfo } from "./keys.js";

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
});

describe("envKeyOf", () => {
  it("ignores comments, blank lines and line order of the lock", () => {
    const a = envKeyOf("six==1.16.0\nidna==3.10\n", py);
    const b = envKeyOf("# generated\nidna==3.10    # via -r -\n\n  six==1.16.0\n", py);
    expect(b).toBe(a);
    expect(envKeyOf("six==1.17.0\nidna==3.10\n", py)).not.toBe(a);
    expect(envKeyOf("six==1.16.0\nidna==3.10\n", { ...py, version: "3.12.1" })).not.toBe(a);
  });

  it("keeps what a lock line installs", () => {
    expect(canonicalLock("b==2\n# c\na==1 ; python_version >= \"3\"\n")).toBe('a==1 ; python_version >= "3"\nb==2');
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
