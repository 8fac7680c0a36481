import { describe, expect, it } from "vitest";
import { redactText, redactUrl, sanitizeError } from "./redact.js";
import { inspect } from "node:util";

describe("redactUrl", () => {
  it("masks the password and keeps everything else", () => {
    expect(redactUrl("postgres://app:s3cret@db.internal:5432/asgard?sslmode=require")).toBe(
      "postgres://app:***@db.internal:5432/asgard?sslmode=require",
    );
  });

  it("masks a percent-encoded password", () => {
    expect(redactUrl("postgresql://app:p%40ss%2Fword@db/asgard")).toBe("postgresql://app:***@db/asgard");
  });

  it("masks password query parameters", () => {
    expect(redactUrl("postgres://db/asgard?user=app&password=s3cret&sslpassword=k3y")).toBe(
      "postgres://db/asgard?user=app&password=***&sslpassword=***",
    );
  });

  it("leaves a URL without a password as it is", () => {
    expect(redactUrl("postgres://postgres@127.0.0.1:5432/postgres")).toBe("postgres://postgres@127.0.0.1:5432/postgres");
  });

  it("masks the password of a string that is not a valid URL", () => {
    const out = redactUrl("postgres://app:s3cret@db:notaport/asgard");
    expect(out).toBe("postgres://app:***@db:notaport/asgard");
  });

  it("masks password=… in a keyword/value connection string", () => {
    expect(redactUrl("host=db user=app password=s3cret dbname=asgard")).toBe("host=db user=app password=*** dbname=asgard");
  });
});

describe("redactText", () => {
  const url = "postgres://app:s3cr%40t@db:5432/asgard";

  it("replaces the whole URL and each spelling of its password", () => {
    expect(redactText(`failed ${url}: bad s3cr@t and s3cr%40t`, url)).toBe(
      "failed postgres://app:***@db:5432/asgard: bad *** and ***",
    );
  });
});

describe("sanitizeError", () => {
  const url = "postgres://app:s3cret@db:5432/asgard";

  it("keeps an error that mentions no secret", () => {
    const err = Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:5432"), { code: "ECONNREFUSED" });
    expect(sanitizeError(err, url)).toBe(err);
  });

  it("replaces an error whose fields hold the password by a masked copy with the same code", () => {
    const err = Object.assign(new TypeError("Invalid URL"), { code: "ERR_INVALID_URL", input: url });
    const clean = sanitizeError(err, url);
    expect(clean).toMatchObject({ message: "Invalid URL", code: "ERR_INVALID_URL" });
    expect(inspect(clean)).not.toContain("s3cret");
  });
});
