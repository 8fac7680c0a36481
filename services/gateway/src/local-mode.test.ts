import { describe, expect, it } from "vitest";
import { isLoopbackBind, isLoopbackHost } from "./local-mode.js";

describe("loopback names", () => {
  it("accepts the names and addresses of this machine, with or without a port", () => {
    for (const host of ["localhost", "localhost:8000", "LOCALHOST:8000", "127.0.0.1", "127.0.0.1:8000", "127.1.2.3:80", "[::1]", "[::1]:8000", "asgard.localhost:8000"]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });

  it("refuses every other name, rebinding tricks included", () => {
    for (const host of [undefined, "", "example.com", "localhost.example.com", "127.0.0.1.nip.io", "0.0.0.0:8000", "10.0.0.5", "[::]:8000", "[::ffff:127.0.0.1]", "localhost:8000@evil", "evil.com#localhost"]) {
      expect(isLoopbackHost(host), String(host)).toBe(false);
    }
  });

  it("tells loopback bind addresses from the rest", () => {
    expect(isLoopbackBind("127.0.0.1")).toBe(true);
    expect(isLoopbackBind("::1")).toBe(true);
    expect(isLoopbackBind("localhost")).toBe(true);
    expect(isLoopbackBind("0.0.0.0")).toBe(false);
    expect(isLoopbackBind("::")).toBe(false);
    expect(isLoopbackBind("10.1.2.3")).toBe(false);
  });
});
