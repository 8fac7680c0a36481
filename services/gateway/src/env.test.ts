import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@asgard/config";
import { GatewayEnv } from "./env.js";

const base = { NATS_URL: "nats://127.0.0.1:4222" };

describe("GatewayEnv upload limits", () => {
  it("defaults to the contract's limits", () => {
    const env = parseEnv("gateway", GatewayEnv, base);
    expect(env).toMatchObject({ MIN_TIMEOUT_SECONDS: 60, MAX_TIMEOUT_SECONDS: 3600, MAX_SCRIPT_BYTES: 524288 });
  });

  it("reads a lowered minimum and a smaller script limit", () => {
    const env = parseEnv("gateway", GatewayEnv, { ...base, MIN_TIMEOUT_SECONDS: "1", MAX_SCRIPT_BYTES: "1024" });
    expect(env).toMatchObject({ MIN_TIMEOUT_SECONDS: 1, MAX_SCRIPT_BYTES: 1024 });
  });

  it("names the variable when a limit is out of range or the bounds are crossed", () => {
    const problems = (vars: Record<string, string>) => {
      try {
        parseEnv("gateway", GatewayEnv, { ...base, ...vars });
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => p.variable);
      }
      return [];
    };
    expect(problems({ MAX_SCRIPT_BYTES: String(1024 * 1024) })).toEqual(["MAX_SCRIPT_BYTES"]);
    expect(problems({ MIN_TIMEOUT_SECONDS: "0" })).toEqual(["MIN_TIMEOUT_SECONDS"]);
    expect(problems({ MIN_TIMEOUT_SECONDS: "600", MAX_TIMEOUT_SECONDS: "300" })).toEqual(["MIN_TIMEOUT_SECONDS"]);
  });
});
