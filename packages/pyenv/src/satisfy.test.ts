import { describe, expect, it } from "vitest";
import { unsatisfied } from "./satisfy.js";
import { normalizeRequirements } from "./validate.js";

// What a job env that trained a RandomForest holds (a part of it).
const env = { "scikit-learn": "1.5.2", numpy: "2.4.6", scipy: "1.17.1", cloudpickle: "3.1.3", "python-dateutil": "2.9.0.post0", torch: "2.5.1+cpu", mlflow: "3.17.2", rc: "2.0rc1" };
const check = (...reqs: string[]) => unsatisfied(normalizeRequirements(reqs), env);

describe("unsatisfied (PEP 440)", () => {
  it("accepts exact pins as MLflow logs them, in any spelling of the name", () => {
    expect(check("scikit-learn==1.5.2", "numpy==2.4.6", "Python_DateUtil==2.9.0.post0", "cloudpickle==3.1.3", "mlflow==3.17.2")).toEqual([]);
  });

  it("accepts ranges, wildcards, compatible releases and exclusions that hold", () => {
    expect(check("scikit-learn>=1.4,<1.6", "numpy==2.4.*", "scipy~=1.17", "cloudpickle!=3.1.2", "scikit-learn", "torch==2.5.1")).toEqual([]);
  });

  it("treats an installed pre-release as satisfying a range it falls in", () => {
    expect(check("rc>=1.0")).toEqual([]);
  });

  it("names each requirement that does not hold: other version, missing package, excluded version", () => {
    expect(check("scikit-learn==1.5.1", "numpy<2", "lightgbm", "scipy!=1.17.1", "numpy==2.4.6")).toEqual(["lightgbm", "numpy<2", "scikit-learn==1.5.1", "scipy!=1.17.1"]);
  });

  it("never takes extras or environment markers as satisfied (not recorded with an env)", () => {
    expect(check("mlflow[extras]==3.17.2")).toEqual(["mlflow[extras]==3.17.2"]);
    expect(check('numpy==2.4.6; python_version >= "3.8"')).toEqual(['numpy==2.4.6; python_version >= "3.8"']);
  });

  it("does not match a version the env does not hold as valid PEP 440", () => {
    expect(unsatisfied(["numpy==2.4.6"], { numpy: "not-a-version" })).toEqual(["numpy==2.4.6"]);
  });
});
