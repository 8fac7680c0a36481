import { describe, expect, it } from "vitest";
import { condaPipEntries, modelRequirements } from "./model-requirements.js";

const MLFLOW_REQUIREMENTS = "mlflow==3.17.2\ncloudpickle==3.1.3\nnumpy==2.4.6\npandas==3.1.1\nscikit-learn==1.9.1\nscipy==1.17.1";

const CONDA = `channels:
- conda-forge
dependencies:
- python=3.11.7
- pip
- pip:
  - mlflow==3.17.2
  - scikit-learn==1.9.1
  - 'numpy<3'
name: mlflow-env
`;

describe("modelRequirements", () => {
  it("takes requirements.txt as MLflow logs it, leaving MLflow itself to the platform pin", () => {
    expect(modelRequirements({ requirementsTxt: MLFLOW_REQUIREMENTS, condaYaml: CONDA })).toEqual({
      ok: true,
      requirements: ["cloudpickle==3.1.3", "numpy==2.4.6", "pandas==3.1.1", "scikit-learn==1.9.1", "scipy==1.17.1"],
      from: "requirements.txt",
    });
  });

  it("ignores comments and blank lines", () => {
    const result = modelRequirements({ requirementsTxt: "# pinned\n\nscikit-learn==1.9.1  # the model\nmlflow-skinny\n", condaYaml: null });
    expect(result).toEqual({ ok: true, requirements: ["scikit-learn==1.9.1"], from: "requirements.txt" });
  });

  it("falls back to the pip section of conda.yaml", () => {
    expect(modelRequirements({ requirementsTxt: null, condaYaml: CONDA })).toEqual({ ok: true, requirements: ["scikit-learn==1.9.1", "numpy<3"], from: "conda.yaml" });
    expect(condaPipEntries("dependencies:\n- python=3.11\n")).toEqual([]);
  });

  it("has nothing to install when the model logged no requirements", () => {
    expect(modelRequirements({ requirementsTxt: null, condaYaml: null })).toMatchObject({ ok: true, requirements: [] });
  });

  it.each([
    ["a URL", "sklearn @ https://example.com/x.whl", /URLs/],
    ["a pip option", "--extra-index-url https://evil.example", /pip options/],
    ["an included file", "-r /etc/hostname", /pip options/],
    ["a path", "./vendor/pkg", /not accepted|package name/],
    ["a variable", "pkg==${TOKEN}", /./],
  ])("refuses a model whose requirements hold %s, naming the line", (_what, line, message) => {
    const result = modelRequirements({ requirementsTxt: `numpy==2.4.6\n${line}`, condaYaml: null });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem).toContain("requirements.txt line 2");
    expect(result.problem).toMatch(message);
  });
});
