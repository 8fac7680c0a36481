import { z } from "zod";
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "./env.js";
import { metricsHost, streamReplicas } from "./deployment-fields.js";

const Env = z.object({ METRICS_HOST: metricsHost(), NATS_STREAM_REPLICAS: streamReplicas() });
const problems = (vars: Record<string, string>) => {
  try {
    parseEnv("svc", Env, vars);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.variable);
    throw err;
  }
};

describe("deployment fields", () => {
  it("bind metrics to loopback and declare streams with one replica by default", () => {
    expect(parseEnv("svc", Env, {})).toEqual({ METRICS_HOST: "127.0.0.1", NATS_STREAM_REPLICAS: 1 });
    expect(parseEnv("svc", Env, { METRICS_HOST: "" })).toMatchObject({ METRICS_HOST: "127.0.0.1" });
  });

  it("read a container's wildcard address, IPv6 and host names, and a cluster's replica count", () => {
    expect(parseEnv("svc", Env, { METRICS_HOST: "0.0.0.0", NATS_STREAM_REPLICAS: "3" })).toEqual({
      METRICS_HOST: "0.0.0.0",
      NATS_STREAM_REPLICAS: 3,
    });
    for (const host of ["::", "::1", " localhost ", "metrics.asgard.svc"]) {
      expect(parseEnv("svc", Env, { METRICS_HOST: host }).METRICS_HOST).toBe(host.trim());
    }
  });

  it("name the variable for a malformed address or a replica count JetStream refuses", () => {
    expect(problems({ METRICS_HOST: "http://0.0.0.0" })).toEqual(["METRICS_HOST"]);
    expect(problems({ METRICS_HOST: "0.0.0.0:9464" })).toEqual(["METRICS_HOST"]);
    for (const n of ["0", "6", "2.5", "three", ""]) expect(problems({ NATS_STREAM_REPLICAS: n }), n).toEqual(["NATS_STREAM_REPLICAS"]);
    expect(() => parseEnv("svc", Env, { NATS_STREAM_REPLICAS: "7" })).toThrow(/NATS_STREAM_REPLICAS: replicas of each JetStream stream/);
  });
});
