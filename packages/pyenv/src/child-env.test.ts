import { expect, it } from "vitest";
import { buildChildEnv, PASSED_THROUGH_ENV } from "./child-env.js";

it("keeps only the allow-list and adds uv's fixed settings", () => {
  const env = buildChildEnv(
    {
      PATH: "/usr/bin",
      HOME: "/home/runner",
      LANG: "en_US.UTF-8",
      SSL_CERT_FILE: "/etc/ssl/cert.pem",
      SECRET_CANARY: "1",
      AWS_SECRET_ACCESS_KEY: "s3cr3t",
      UV_INDEX_URL: "https://evil.example/simple",
      PIP_INDEX_URL: "https://evil.example/simple",
      UV_CACHE_DIR: "/somewhere/else",
      PYTHONPATH: "/tmp/evil",
    },
    { uvCacheDir: "/var/cache/uv" },
  );
  expect(env).toEqual({
    PATH: "/usr/bin",
    HOME: "/home/runner",
    LANG: "en_US.UTF-8",
    SSL_CERT_FILE: "/etc/ssl/cert.pem",
    UV_NO_CONFIG: "1",
    UV_PYTHON_DOWNLOADS: "never",
    UV_CACHE_DIR: "/var/cache/uv",
  });
});

it("defaults LANG, omits unset or empty variables and the cache dir when not configured", () => {
  const env = buildChildEnv({ PATH: "/bin", HOME: "" });
  expect(env).toEqual({ PATH: "/bin", LANG: "C.UTF-8", UV_NO_CONFIG: "1", UV_PYTHON_DOWNLOADS: "never" });
});

it("never copies the caller's process.env beyond the allow-list", () => {
  process.env.SECRET_CANARY = "1";
  try {
    const env = buildChildEnv(process.env);
    expect(env).not.toHaveProperty("SECRET_CANARY");
    const allowed = new Set([...PASSED_THROUGH_ENV, "UV_NO_CONFIG", "UV_PYTHON_DOWNLOADS"]);
    expect(Object.keys(env).filter((k) => !allowed.has(k))).toEqual([]);
  } finally {
    delete process.env.SECRET_CANARY;
  }
});
