import { describe, expect, it } from "vitest";
import type { SandboxCheck } from "@asgard/sandbox";
import { sourceBuildsRefusal } from "./sandboxed.js";

const working: SandboxCheck = {
  available: true,
  bwrapPath: "/usr/bin/bwrap",
  reason: null,
  cgroups: { available: true, version: "v1", reason: null },
  internet: { available: true, reason: null },
};

describe("sourceBuildsRefusal", () => {
  it("lets a service with a working sandbox and internet build from source", () => {
    expect(sourceBuildsRefusal({ sandbox: working, sandboxSetting: "RUNNER_SANDBOX" })).toBeNull();
  });

  it("refuses without the sandbox, naming the setting that turned it off", () => {
    expect(sourceBuildsRefusal({ sandbox: null, sandboxSetting: "INFERENCE_SANDBOX" })).toBe(
      "ENV_SOURCE_BUILDS=sandbox needs INFERENCE_SANDBOX=bwrap: source builds never run outside the sandbox",
    );
  });

  it("refuses a sandbox that does not work, or cannot give builds internet, with the reason", () => {
    const broken = { ...working, available: false, reason: "bubblewrap is not installed" };
    expect(sourceBuildsRefusal({ sandbox: broken, sandboxSetting: "RUNNER_SANDBOX" })).toMatch(/does not work here: bubblewrap is not installed$/);
    const offline = { ...working, internet: { available: false, reason: "/dev/net/tun is not usable" } };
    expect(sourceBuildsRefusal({ sandbox: offline, sandboxSetting: "INFERENCE_SANDBOX" })).toBe(
      "ENV_SOURCE_BUILDS=sandbox needs internet in the sandbox (a build fetches from the index): /dev/net/tun is not usable",
    );
  });
});
