import { describe, expect, it } from "vitest";
import {
  MlflowConflictError,
  MlflowError,
  MlflowNotFoundError,
  MlflowRegistrationFailedError,
  MlflowUnavailableError,
  MlflowValidationError,
  errorCodeFor,
  errorFromResponse,
  parseErrorBody,
  unavailableError,
  unavailableReasonOf,
} from "./errors.js";

const op = { method: "POST", path: "/api/2.0/mlflow/registered-models/create" };

function body(errorCode: string, message: string): string {
  return JSON.stringify({ error_code: errorCode, message });
}

describe("errorCodeFor", () => {
  it("lets MLflow's error_code win over the HTTP status", () => {
    // MLflow answers RESOURCE_ALREADY_EXISTS with 400.
    expect(errorCodeFor(400, "RESOURCE_ALREADY_EXISTS")).toBe("CONFLICT");
    expect(errorCodeFor(404, "RESOURCE_DOES_NOT_EXIST")).toBe("NOT_FOUND");
    expect(errorCodeFor(400, "INVALID_PARAMETER_VALUE")).toBe("VALIDATION_FAILED");
    expect(errorCodeFor(503, "TEMPORARILY_UNAVAILABLE")).toBe("UNAVAILABLE");
  });

  it("falls back to the status", () => {
    expect(errorCodeFor(404, null)).toBe("NOT_FOUND");
    expect(errorCodeFor(409, null)).toBe("CONFLICT");
    expect(errorCodeFor(400, null)).toBe("VALIDATION_FAILED");
    expect(errorCodeFor(413, null)).toBe("PAYLOAD_TOO_LARGE");
    expect(errorCodeFor(429, null)).toBe("UNAVAILABLE");
    expect(errorCodeFor(500, "INTERNAL_ERROR")).toBe("UNAVAILABLE");
    expect(errorCodeFor(502, null)).toBe("UNAVAILABLE");
    expect(errorCodeFor(401, null)).toBe("INTERNAL");
    expect(errorCodeFor(405, null)).toBe("INTERNAL");
  });
});

describe("errorFromResponse", () => {
  it("builds the subclass for each code and keeps MLflow's message", () => {
    const notFound = errorFromResponse(op, 404, body("RESOURCE_DOES_NOT_EXIST", "Run with id=x not found"), 3);
    expect(notFound).toBeInstanceOf(MlflowNotFoundError);
    expect(notFound.message).toContain("Run with id=x not found");
    expect(notFound.errorCode).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(notFound.httpStatus).toBe(404);
    expect(notFound.operation).toEqual(op);

    const conflict = errorFromResponse(op, 400, body("RESOURCE_ALREADY_EXISTS", "exists"), 3);
    expect(conflict).toBeInstanceOf(MlflowConflictError);
    expect(conflict.code).toBe("CONFLICT");

    const invalid = errorFromResponse(op, 400, body("INVALID_PARAMETER_VALUE", "Invalid model name 'a/b'."), 3);
    expect(invalid).toBeInstanceOf(MlflowValidationError);
    expect(invalid.message).toContain("Invalid model name 'a/b'.");

    const down = errorFromResponse(op, 503, "upstream down", 12);
    expect(down).toBeInstanceOf(MlflowUnavailableError);
    expect((down as MlflowUnavailableError).reason).toBe("server_error");
    expect(down.message).toContain("503");

    const other = errorFromResponse(op, 403, "", 1);
    expect(other).toBeInstanceOf(MlflowError);
    expect(other.code).toBe("INTERNAL");
  });

  it("clips the SQL MLflow puts into some messages", () => {
    const long = "x".repeat(5000);
    const err = errorFromResponse(op, 400, body("RESOURCE_ALREADY_EXISTS", long), 1);
    expect(err.message.length).toBeLessThan(1000);
  });

  it("reads an HTML error page as no MLflow body", () => {
    expect(parseErrorBody("<h1>Method Not Allowed</h1>")).toEqual({ errorCode: null, message: null });
    expect(parseErrorBody("null")).toEqual({ errorCode: null, message: null });
    const err = errorFromResponse(op, 405, "<h1>Method Not Allowed</h1>", 1);
    expect(err.message).toContain("HTTP 405");
  });
});

describe("transport failures", () => {
  function withCode(code: string): Error {
    return Object.assign(new Error("boom"), { code });
  }

  it("classifies Node and undici error codes, also inside causes", () => {
    expect(unavailableReasonOf(withCode("ECONNREFUSED"))).toBe("refused");
    expect(unavailableReasonOf(withCode("ENOTFOUND"))).toBe("dns");
    expect(unavailableReasonOf(withCode("ECONNRESET"))).toBe("reset");
    expect(unavailableReasonOf(withCode("UND_ERR_SOCKET"))).toBe("reset");
    expect(unavailableReasonOf(withCode("UND_ERR_HEADERS_TIMEOUT"))).toBe("timeout");
    expect(unavailableReasonOf(new Error("outer", { cause: withCode("ECONNREFUSED") }))).toBe("refused");
    expect(unavailableReasonOf(new Error("plain"))).toBe("network");
    expect(unavailableReasonOf("not an error")).toBe("network");
  });

  it("says which failure and after how long", () => {
    const refused = unavailableError("http://127.0.0.1:1", op, "refused", 2.4, 10_000, null);
    expect(refused.message).toContain("connection refused");
    expect(refused.message).toContain("after 2 ms");
    expect(refused.code).toBe("UNAVAILABLE");
    const timeout = unavailableError("http://127.0.0.1:1", op, "timeout", 301, 300, null);
    expect(timeout.message).toContain("within 300 ms");
    expect(timeout.reason).toBe("timeout");
  });
});

describe("MlflowRegistrationFailedError", () => {
  it("carries MLflow's status message", () => {
    const err = new MlflowRegistrationFailedError("fraud", "3", "copy failed");
    expect(err.code).toBe("UNPROCESSABLE");
    expect(err.message).toContain("fraud/3");
    expect(err.message).toContain("copy failed");
    expect(err.statusMessage).toBe("copy failed");
  });
});
