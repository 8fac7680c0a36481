import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  applicableConstraints,
  constraintsFromSetting,
  excludesFromSetting,
  loadConstraints,
  parseConstraints,
  platformConstraints,
  renderConstraints,
  statedVersion,
} from "./constraints.js";
import { resolutionFailure } from "./lock.js";
import { PLATFORM_CONSTRAINTS_TEXT } from "./platform-constraints.js";

describe("the committed platform constraints", () => {
  it("lock MLflow and what it pulls in, exactly, with the version their header states", async () => {
    const set = platformConstraints();
    expect(statedVersion(PLATFORM_CONSTRAINTS_TEXT)).toBe(set.version);
    const names = set.lines.map((l) => l.slice(0, l.indexOf("==")));
    for (const pkg of ["mlflow", "mlflow-skinny", "skops", "cloudpickle", "numpy", "pandas", "pyarrow", "sqlalchemy"]) expect(names).toContain(pkg);
    for (const line of set.lines) expect(line).toMatch(/^[a-z0-9-]+==\S+( ; .+)?$/);
  });
});

describe("parseConstraints", () => {
  it("normalizes names, ignores comments, and versions the set by content alone", () => {
    const a = parseConstraints("# made by uv\nNumPy==2.4.6\nscipy==1.17.1 ; python_full_version < '3.12'\n\n", "a");
    const b = parseConstraints("scipy==1.17.1 ; python_full_version < '3.12'\nnumpy==2.4.6  # pinned\n", "b");
    expect(a.lines).toEqual(["numpy==2.4.6", "scipy==1.17.1 ; python_full_version < '3.12'"]);
    expect(b.version).toBe(a.version);
    expect(parseConstraints("numpy==2.4.7\nscipy==1.17.1 ; python_full_version < '3.12'", "c").version).not.toBe(a.version);
  });

  it("refuses anything but exact pins: ranges, options, URLs, variables", () => {
    for (const bad of ["numpy>=2", "-r other.txt", "numpy @ https://x/numpy.whl", "numpy==${V}", "--index-url=http://x"]) {
      expect(() => parseConstraints(bad, "bad.txt"), bad).toThrow(/bad\.txt/);
    }
  });

  it("round-trips through the committed file's format", () => {
    const text = renderConstraints(["b==2", "a==1 ; sys_platform == 'win32'"], "test");
    const set = parseConstraints(text, "x");
    expect(statedVersion(text)).toBe(set.version);
    expect(set.lines).toEqual(["a==1 ; sys_platform == 'win32'", "b==2"]);
  });
});

describe("applicableConstraints", () => {
  it("drops every entry (all markers) of a package the request or the pins name", () => {
    const set = parseConstraints("numpy==2.4.6 ; python_full_version < '3.12'\nnumpy==2.5.5 ; python_full_version >= '3.12'\nscikit-learn==1.9.1\nskops==0.16.0", "x");
    expect(applicableConstraints(set, new Set(["scikit-learn", "numpy"]))).toEqual(["skops==0.16.0"]);
    expect(applicableConstraints(set, new Set())).toEqual(set.lines);
  });
});

describe("settings", () => {
  it("reads platform, none and an absolute path; refuses a relative one", async () => {
    expect((await constraintsFromSetting("platform"))?.version).toBe(platformConstraints().version);
    expect(await constraintsFromSetting("none")).toBeNull();
    const file = join(await mkdtemp(join(tmpdir(), "asgard-constraints-")), "set.txt");
    await writeFile(file, PLATFORM_CONSTRAINTS_TEXT);
    expect(await constraintsFromSetting(file)).toMatchObject({ source: file, version: platformConstraints().version });
    await expect(loadConstraints(join(file, "missing"))).rejects.toThrow(/cannot be read/);
    await expect(constraintsFromSetting("constraints.txt")).rejects.toThrow(/absolute path/);
    expect(excludesFromSetting(" nvidia-nccl-cu12, ,other ")).toEqual(["nvidia-nccl-cu12", "other"]);
    expect(excludesFromSetting("")).toEqual([]);
  });
});

describe("resolutionFailure", () => {
  it("quotes uv's explanation of a conflict with the platform's pins", () => {
    const stderr = [
      "Resolved 3 packages",
      "error: No solution found when resolving dependencies",
      "  cause: Because mlflow-skinny==3.17.2 depends on click>=7.0,<9 and mlflow==3.17.2 depends on mlflow-skinny==3.17.2, we can conclude that mlflow==3.17.2 depends on click>=7.0,<9.",
      "         And because you require click<7 and mlflow==3.17.2, we can conclude that your requirements are unsatisfiable.",
    ].join("\n");
    const message = resolutionFailure(1, stderr, ["mlflow==3.17.2"]);
    expect(message).toMatch(/^uv pip compile failed \(exit 1\): the requirements and the platform's mlflow==3\.17\.2 cannot be resolved together: No solution found/);
    expect(message).toContain("you require click<7 and mlflow==3.17.2");
  });

  it("keeps uv's last lines for other failures", () => {
    expect(resolutionFailure(2, "error: Failed to fetch: `https://pypi.org/simple/x/`\n  Caused by: connection refused", [])).toBe(
      "uv pip compile failed (exit 2): error: Failed to fetch: `https://pypi.org/simple/x/` / Caused by: connection refused",
    );
  });
});
