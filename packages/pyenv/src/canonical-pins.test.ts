import { describe, expect, it } from "vitest";
import { requestKeyOf } from "./keys.js";
import { checkRequirement, normalizeRequirements } from "./validate.js";

/**
 * Environment cache keys hash the canonical form of each requirement, so a change to the
 * parser that changes a canonical form silently rebuilds every environment that used it (or,
 * worse, makes two different requests share one). These pins were computed with the parser
 * pyenv had before it moved to `@asgard/contracts` (commit e9563bf^); the merged parser
 * reproduces every one. Change a pin only together with `KEY_FORMAT` or a deliberate
 * migration, and say why in the commit.
 */

// Real requirement strings: the platform's own fixtures and Requires-Dist lines of packages
// the MLflow tool environment installs.
const CANONICAL_PINS: [string, string][] = [
  ["scikit-learn", "scikit-learn"],
  ["pandas>=2", "pandas>=2"],
  ["docopt==0.6.2", "docopt==0.6.2"],
  ["six", "six"],
  ["scikit-learn==1.9.1", "scikit-learn==1.9.1"],
  ["numpy<3", "numpy<3"],
  ["numpy==2.1.0", "numpy==2.1.0"],
  ["numpy==2.1.*", "numpy==2.1.*"],
  ["idna>=3", "idna>=3"],
  ["click<7", "click<7"],
  ["cloudpickle==3.1.3", "cloudpickle==3.1.3"],
  ["numpy==2.4.6", "numpy==2.4.6"],
  ["pandas==3.1.1", "pandas==3.1.1"],
  ["scipy==1.17.1", "scipy==1.17.1"],
  ["Six", "six"],
  [" idna>=3 ", "idna>=3"],
  ["IDNA >= 3", "idna>=3"],
  ["torch (>=2.0)", "torch>=2.0"],
  ["requests[security,socks]>=2.31,<3", "requests[security,socks]<3,>=2.31"],
  ["requests [Socks , security] >= 2.31 , < 3", "requests[security,socks]<3,>=2.31"],
  ["uvicorn[]", "uvicorn"],
  ["Scikit_Learn.Extra", "scikit-learn-extra"],
  ["six>=1,>=1", "six>=1"],
  ["google-auth~=2.0", "google-auth~=2.0"],
  ["bar===1.0-custom", "bar===1.0-custom"],
  ["Django>=4.2.0rc1", "django>=4.2.0rc1"],
  ["pkg==1.0+local.1", "pkg==1.0+local.1"],
  ["pkg>=1!2.0", "pkg>=1!2.0"],
  ["pkg>=1.0.post1,<2.0.dev3", "pkg<2.0.dev3,>=1.0.post1"],
  ["protobuf!=5.26.*,!=5.27.*,!=5.28.*,!=5.29.0,!=5.29.1,!=5.29.2,!=5.29.3,!=5.29.4,!=6.30.0,!=6.30.1,!=6.31.0,<8.0,>=4.25.8", "protobuf!=5.26.*,!=5.27.*,!=5.28.*,!=5.29.0,!=5.29.1,!=5.29.2,!=5.29.3,!=5.29.4,!=6.30.0,!=6.30.1,!=6.31.0,<8.0,>=4.25.8"],
  ["pytest!=8.1.*,>=6", "pytest!=8.1.*,>=6"],
  ["psycopg[binary]!=3.1.15,>=3.0.7", "psycopg[binary]!=3.1.15,>=3.0.7"],
  ["uvicorn[standard]>=0.12.0", "uvicorn[standard]>=0.12.0"],
  ["dask[dataframe]>=2024.8", "dask[dataframe]>=2024.8"],
  ["pydantic<3,>=2.0.0", "pydantic<3,>=2.0.0"],
  ["typing-extensions<5,>=4.7; python_version < \"3.10\"", "typing-extensions<5,>=4.7; python_version < \"3.10\""],
  ["tomli; python_version < '3.11'", "tomli; python_version < \"3.11\""],
  ["pywin32;sys_platform=='win32'", "pywin32; sys_platform == \"win32\""],
  ["importlib-metadata>=4.6; python_version < \"3.10\"", "importlib-metadata>=4.6; python_version < \"3.10\""],
  ["colorama; platform_system == \"Windows\"", "colorama; platform_system == \"Windows\""],
  ["waitress<4; sys_platform == \"win32\"", "waitress<4; sys_platform == \"win32\""],
  ["x; python_version >= \"3.10\" and sys_platform == \"linux\" or platform_machine != \"arm64\"", "x; python_version >= \"3.10\" and sys_platform == \"linux\" or platform_machine != \"arm64\""],
  ["x; \"linux\" == sys_platform", "x; \"linux\" == sys_platform"],
  ["x; python_version not  in \"2.7 3.0\"", "x; python_version not in \"2.7 3.0\""],
  ["uvloop>=0.15.1; sys_platform != 'win32' and sys_platform != 'cygwin' and platform_python_implementation != 'PyPy'", "uvloop>=0.15.1; sys_platform != \"win32\" and sys_platform != \"cygwin\" and platform_python_implementation != \"PyPy\""],
  ["gunicorn<24; platform_system != \"Windows\"", "gunicorn<24; platform_system != \"Windows\""],
  ["numpy>=1.22.4; python_version < \"3.11\"", "numpy>=1.22.4; python_version < \"3.11\""],
  ["exceptiongroup>=1.0.0rc8; python_version < \"3.11\"", "exceptiongroup>=1.0.0rc8; python_version < \"3.11\""],
];

// The one deliberate change of the merge (PEP 685): an `extra` marker value compares
// normalized. Before, `x; extra == "Foo_Bar"` kept its spelling. pip and uv skip a top-level
// requirement with an extra marker (no extra is active there), so the keys it changes named
// environments without that package anyway.
const MIGRATED_PINS: [string, string][] = [['x; extra == "Foo_Bar"', 'x; extra == "foo-bar"']];

const INTERPRETER = { implementation: "CPython", version: "3.11.2", system: "Linux", machine: "x86_64" };

// requestKeyOf with `mlflow==3.17.0` as the pin, for request sets as users send them.
const REQUEST_KEY_PINS: [string[], string][] = [
  [["scikit-learn"], "478c6203d87f79641f7a0455e94d4ebeb80cb3a1000cf97086d0c60768a0bb89"],
  [["scikit-learn","pandas"], "e669b4c894aa292688c9e68360ed5b6e77d58c2f892f86e13f1843fdbf5f8a31"],
  [["cloudpickle==3.1.3","numpy==2.4.6","pandas==3.1.1","scikit-learn==1.9.1","scipy==1.17.1"], "2cef2d65b28daf8a271f9ddfc7fb904c6fc13548431651dda339218a9790cb9e"],
  [["Six"," idna>=3 ","iniconfig","six"], "f4484ed076edb417bcff49f76910bce73897c24c1efe95280e430ec3dd255752"],
  [["requests [Socks , security] >= 2.31 , < 3","tomli; python_version < '3.11'"], "175b212dbd41f1b2bcf6d3853766ef8b7b151fccac3ed06c581aa529ea5f9e92"],
];

describe("canonical forms and cache keys stay what they were", () => {
  it.each([...CANONICAL_PINS, ...MIGRATED_PINS])("%j reads as %j", (raw, canonical) => {
    const result = checkRequirement(raw);
    expect(result.ok && result.requirement.canonical).toBe(canonical);
  });

  it.each(REQUEST_KEY_PINS)("the request %j keeps its key", (requirements, key) => {
    const pins = normalizeRequirements(["mlflow==3.17.0"], "pin");
    expect(requestKeyOf({ requirements: normalizeRequirements(requirements), pins, interpreter: INTERPRETER, indexUrl: undefined })).toBe(key);
  });
});
