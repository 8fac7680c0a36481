import { describe, expect, it } from "vitest";
import { isMissingAliasError } from "./aliases.js";
import { artifactPathFromUri } from "./artifacts.js";
import { MlflowError, MlflowValidationError } from "./errors.js";
import { registrationState } from "./model-versions.js";
import { queryString } from "./transport.js";

describe("artifactPathFromUri", () => {
  it("accepts mlflow-artifacts URIs with and without authority, and plain paths", () => {
    expect(artifactPathFromUri("mlflow-artifacts:/1/abc/artifacts/model")).toBe("1/abc/artifacts/model");
    expect(artifactPathFromUri("mlflow-artifacts://mlflow:5000/1/abc/artifacts")).toBe("1/abc/artifacts");
    expect(artifactPathFromUri("1/abc//artifacts/./MLmodel")).toBe("1/abc/artifacts/MLmodel");
    expect(artifactPathFromUri("/1/abc/")).toBe("1/abc");
    expect(artifactPathFromUri("mlflow-artifacts:")).toBe("");
  });

  it("refuses other stores and parent segments", () => {
    expect(() => artifactPathFromUri("s3://bucket/1/abc")).toThrow(MlflowValidationError);
    expect(() => artifactPathFromUri("runs:/abc/model")).toThrow(MlflowValidationError);
    expect(() => artifactPathFromUri("1/../../etc/passwd")).toThrow(/\.\./);
  });
});

describe("queryString", () => {
  it("repeats array keys, skips unset values and encodes", () => {
    expect(queryString({ filter: "name = 'a b'", max_results: 2, order_by: ["name ASC", "version DESC"], page_token: undefined, x: null })).toBe(
      "?filter=name+%3D+%27a+b%27&max_results=2&order_by=name+ASC&order_by=version+DESC",
    );
    expect(queryString({})).toBe("");
    expect(queryString(undefined)).toBe("");
  });
});

describe("registrationState", () => {
  it("maps MLflow's statuses, treating unknown ones as pending", () => {
    expect(registrationState("READY")).toBe("ready");
    expect(registrationState("FAILED_REGISTRATION")).toBe("failed");
    expect(registrationState("PENDING_REGISTRATION")).toBe("pending");
    expect(registrationState("SOMETHING_NEW")).toBe("pending");
  });
});

describe("isMissingAliasError", () => {
  it("recognises MLflow's 400 for a missing alias and nothing else", () => {
    const missing = new MlflowValidationError("Registered model alias champion not found. (GET …)", {
      errorCode: "INVALID_PARAMETER_VALUE",
    });
    expect(isMissingAliasError(missing)).toBe(true);
    const reserved = new MlflowValidationError("'latest' alias name (case insensitive) is reserved.", {
      errorCode: "INVALID_PARAMETER_VALUE",
    });
    expect(isMissingAliasError(reserved)).toBe(false);
    expect(isMissingAliasError(new MlflowError("NOT_FOUND", "alias x not found"))).toBe(false);
    expect(isMissingAliasError(new Error("alias x not found"))).toBe(false);
  });
});
