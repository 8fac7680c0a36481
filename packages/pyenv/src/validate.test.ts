import { describe, expect, it } from "vitest";
import { PyEnvError } from "./errors.js";
import { checkRequirement, normalizePackageName, normalizeRequirements } from "./validate.js";

describe("checkRequirement (the upload API's parser, as the environment builder reads requirements)", () => {
  it.each([
    ["scikit-learn", "scikit-learn"],
    ["pandas>=2", "pandas>=2"],
    ["numpy==2.1.*", "numpy==2.1.*"],
    ["numpy!=1.26.*", "numpy!=1.26.*"],
    ["requests[security,socks]>=2.31,<3", "requests[security,socks]<3,>=2.31"],
    ["requests [Socks , security] >= 2.31 , < 3", "requests[security,socks]<3,>=2.31"],
    ["uvicorn[]", "uvicorn"],
    ["torch (>=2.0)", "torch>=2.0"],
    ["foo~=1.4.2", "foo~=1.4.2"],
    ["bar===1.0-custom", "bar===1.0-custom"],
    ["Django>=4.2.0rc1", "django>=4.2.0rc1"],
    ["pkg==1.0+local.1", "pkg==1.0+local.1"],
    ["pkg>=1!2.0", "pkg>=1!2.0"],
    ["pkg>=1.0.post1,<2.0.dev3", "pkg<2.0.dev3,>=1.0.post1"],
    ["Scikit_Learn.Extra", "scikit-learn-extra"],
    ["six>=1,>=1", "six>=1"],
    ['tomli; python_version < "3.11"', 'tomli; python_version < "3.11"'],
    ["pywin32;sys_platform=='win32'", 'pywin32; sys_platform == "win32"'],
    ['six; os_name=="nt"', 'six; os_name == "nt"'],
    ['x; python_version >= "3.10" and sys_platform == "linux" or platform_machine != "arm64"', 'x; python_version >= "3.10" and sys_platform == "linux" or platform_machine != "arm64"'],
    ['x; "linux" == sys_platform', 'x; "linux" == sys_platform'],
    ['x; python_version not  in "2.7 3.0"', 'x; python_version not in "2.7 3.0"'],
    ['x; python_version in"3.10 3.11"', 'x; python_version in "3.10 3.11"'],
  ])("accepts %j as %j", (raw, canonical) => {
    const result = checkRequirement(raw);
    expect(result.ok && result.requirement.canonical).toBe(canonical);
    expect(result.ok && result.requirement.normalizedName).toBe(canonical.split(/[[<>=!~;]/)[0]);
  });

  it.each([
    ["-r /etc/passwd", /pip options/],
    ["--index-url=https://evil", /pip options/],
    ["-c constraints.txt", /pip options/],
    ["pkg @ file:///etc", /direct references/],
    ["pkg@1.0", /direct references/],
    ["https://x", /URLs/],
    ["git+ssh://git@github.com/o/r.git", /URLs/],
    ["/abs/path", /paths/],
    ["../rel", /paths/],
    [".[dev]", /paths/],
    ["~/pkg", /paths/],
    ["FILE:pkg", /paths/],
    ["C:\\pkg", /paths/],
    ["$X", /\$/],
    ["pkg==${VERSION}", /\$/],
    ["pkg # pinned", /comments/],
    ["pkg\n-r x", /single line/],
    ["pkg\t>=1", /control characters/],
    ["", /empty/],
    ["x".repeat(201), /at most 200/],
    ["a b", /not a version constraint/],
    ["foo 1.0", /not a version constraint/],
    ["foo=1", /not a version constraint \(use "==" for an exact version\)/],
    ["foo>= 1. 0", /must not contain spaces/],
    ["foo>=", />= must be followed by a version/],
    ["foo>=1,,<2", /empty version constraint/],
    ["numpy>=2.*", /wildcards/],
    ["numpy~=2.1.*", /wildcards/],
    ["numpy==*", /not a valid version/],
    ["foo~=1", /at least two version parts/],
    ["foo>=1.0+local", /local versions/],
    ["foo (>=1", /not closed/],
    ["foo ()", /no version constraint/],
    ["foo[bar", /extras/],
    ["foo[b!r]", /extra "b!r" is not a valid name/],
    ["_foo", /package name/],
    ["foo;", /marker/],
    ['foo; (python_version > "3"', /marker/],
    ['foo; os.name == "nt"', /marker/],
    ['foo; evil == "x"', /marker/],
    ['foo; python_version > "3" and', /marker/],
    ["foo; python_version > python_full_version", /marker/],
    ['foo; python_version > "3" sys_platform == "x"', /marker/],
    ['foo; python_versionin "3"', /marker/],
    ['foo; python_version == "3;rm"', /marker/],
    ['foo; python_version == "3" --index-url x', /marker/],
    ["six --hash=sha256:00", /not a version constraint/],
  ])("refuses %j", (raw, reason) => {
    const result = checkRequirement(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join(" ")).toMatch(reason);
  });
});

describe("normalizeRequirements", () => {
  it("sorts, de-duplicates and normalizes names, so order and spelling do not matter", () => {
    const a = normalizeRequirements(["Six", " idna>=3 ", "iniconfig", "six"]);
    const b = normalizeRequirements(["IniConfig", "IDNA >= 3", "six"]);
    expect(a).toEqual(["idna>=3", "iniconfig", "six"]);
    expect(b).toEqual(a);
  });

  it("names every refused entry by position and value", () => {
    let caught: unknown;
    try {
      normalizeRequirements(["six", "-r /etc/passwd", "a b"]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PyEnvError);
    const err = caught as PyEnvError;
    expect(err.code).toBe("INVALID_REQUIREMENT");
    expect(err.message).toContain('requirement 2 ("-r /etc/passwd") pip options');
    expect(err.message).toContain('requirement 3 ("a b")');
    expect(err.output.split("\n")).toHaveLength(2);
  });

  it("refuses values that are not strings", () => {
    expect(() => normalizeRequirements([42 as unknown as string])).toThrow(/must be a string/);
  });
});

it("normalizes names as PEP 503 does", () => {
  expect(normalizePackageName("Foo__Bar..baz-QUX")).toBe("foo-bar-baz-qux");
});
