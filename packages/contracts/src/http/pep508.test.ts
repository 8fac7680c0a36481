import { describe, expect, it } from "vitest";
import { checkRequirement, normalizePackageName } from "./pep508.js";

// Every accepted string below is also accepted by `packaging.requirements.Requirement`; the
// differential test (`test/pep508-packaging.test.ts`) holds that for generated strings too.
describe("checkRequirement", () => {
  it.each([
    "scikit-learn",
    "pandas>=2",
    "numpy==2.1.*",
    "numpy!=1.26.*",
    "requests[security,socks]>=2.31,<3",
    "requests [security] >= 2.31 , < 3",
    "uvicorn[]",
    "torch (>=2.0)",
    "foo~=1.4.2",
    "foo~=1.4",
    "bar===1.0-custom",
    "Django>=4.2.0rc1",
    "pkg==1.0+local.1",
    "pkg>=1!2.0",
    "pkg>=1.0.post1,<2.0.dev3",
    "pkg>v1.2",
    'tomli; python_version < "3.11"',
    "pywin32; sys_platform == 'win32'",
    'x; python_version >= "3.10" and sys_platform == "linux" or platform_machine != "arm64"',
    'x; "linux" == sys_platform',
    'x; python_version not in "2.7 3.0"',
    'x; python_version in "3.10 3.11"',
    'x; extra == "gpu"',
    "A.b_c-d",
    "pkg>=1,",
    "pkg (>=1, )",
    "x",
  ])("accepts %j", (requirement) => {
    const result = checkRequirement(requirement);
    expect(result.ok, JSON.stringify(result)).toBe(true);
  });

  it.each([
    ["-r requirements.txt", /pip options/],
    ["--extra-index-url=https://x", /pip options/],
    ["-c constraints.txt", /pip options/],
    ["pkg @ https://example.com/pkg.whl", /direct references/],
    ["git+ssh://git@github.com/o/r.git", /URLs/],
    ["pkg@1.0", /direct references/],
    ["/abs/path", /paths/],
    ["../rel", /paths/],
    [".[dev]", /paths/],
    ["~/pkg", /paths/],
    ["FILE:pkg", /paths/],
    ["C:\\pkg", /paths/],
    ["pkg==${VERSION}", /\$/],
    ["pkg # pinned", /comments/],
    ["pkg\r\n-r x", /single line/],
    ["pkg\t>=1", /control characters/],
    ["", /empty/],
    ["x".repeat(201), /at most 200/],
    ["numpy>=2.*", /wildcards/],
    ["numpy~=2.1.*", /wildcards/],
    ["numpy==*", /not a valid version/],
    ["numpy==2.*.1", /not a valid version/],
    ["foo~=1", /two version parts/],
    ["foo>=1.0+local", /local versions/],
    ["foo>=", /followed by a version/],
    ["foo=1", /==/],
    ["foo 1.0", /not a version constraint/],
    ["foo>=1,,<2", /empty version constraint/],
    ["foo>=1,,", /empty version constraint/],
    ["foo (,)", /empty version constraint/],
    ["foo (>=1", /not closed/],
    ["foo ()", /no version constraint/],
    ["foo[bar", /not closed/],
    ["foo[b@r]", /direct references/],
    ["foo[b!r]", /not a valid name/],
    ["_foo", /package name/],
    ["foo;", /environment marker/],
    ['foo; (python_version > "3"', /not closed/],
    ['foo; python_version > "3")', /no matching \(/],
    ['foo; () and python_version > "3"', /empty parentheses/],
    ['foo; (python_version > "3" and) or os_name == "nt"', /compare a variable with a quoted string/],
    ['foo; (python_version > "3") os_name == "nt"', /joined with and\/or/],
    ['foo; os.name == "nt"', /not understood|not an environment marker variable/],
    ['foo; evil == "x"', /not an environment marker variable/],
    ['foo; python_version > "3" and', /must not end/],
    ['foo; python_version "3"', /compare a variable with a quoted string/],
    ["foo; python_version > python_full_version", /compare a variable with a quoted string/],
    ['foo; python_version > "3" sys_platform == "x"', /joined with and\/or/],
    ['foo; python_version not "3"', /followed by "in"/],
    ['foo; python_version == "3;rm"', /may only contain/],
  ])("refuses %j", (requirement, message) => {
    const result = checkRequirement(requirement);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join(" | ")).toMatch(message);
  });

  it("reports name, normalized name, marker presence and the canonical form", () => {
    const result = checkRequirement("  Scikit_Learn.Extra>=1; python_version >= '3.10' ");
    expect(result).toEqual({
      ok: true,
      requirement: { text: "Scikit_Learn.Extra>=1; python_version >= '3.10'", name: "Scikit_Learn.Extra", normalizedName: "scikit-learn-extra", hasMarker: true, canonical: 'scikit-learn-extra>=1; python_version >= "3.10"' },
    });
  });

  // Parentheses stay where a group joins several conditions; redundant ones go, so
  // equivalent spellings share a canonical form.
  it.each([
    ['psutil; (sys_platform == "linux" or sys_platform == "darwin") and extra == "tests"', 'psutil; (sys_platform == "linux" or sys_platform == "darwin") and extra == "tests"'],
    ["tzdata; (platform_system == 'Windows') and extra == 'timezone'", 'tzdata; platform_system == "Windows" and extra == "timezone"'],
    ['x; ((python_version < "3.14"))', 'x; python_version < "3.14"'],
    ['x; python_version<"3.12" and((os_name=="nt" or os_name=="posix"))', 'x; python_version < "3.12" and (os_name == "nt" or os_name == "posix")'],
    [
      "uvloop>=0.15.1; (sys_platform != 'win32' and (sys_platform != 'cygwin' and platform_python_implementation != 'PyPy')) and extra == 'standard'",
      'uvloop>=0.15.1; (sys_platform != "win32" and (sys_platform != "cygwin" and platform_python_implementation != "PyPy")) and extra == "standard"',
    ],
    ['x; (extra == "Foo_Bar" or extra == "b")', 'x; extra == "foo-bar" or extra == "b"'],
  ])("reads the marker of %j as %j", (requirement, canonical) => {
    const result = checkRequirement(requirement);
    expect(result.ok && result.requirement.canonical).toBe(canonical);
  });

  it("normalizes names as PEP 503 does", () => {
    expect(normalizePackageName("Foo__Bar..baz-QUX")).toBe("foo-bar-baz-qux");
  });
});
