import { describe, expect, it } from "vitest";
import { DEBIAN_PACKAGES, ensureDebianPackages } from "@asgard/infra";

describe("the Debian packages the platform and its tests use", () => {
  it("are all installed once the project prepared them, each found by its own check", async () => {
    const { missing, message } = await ensureDebianPackages(Object.values(DEBIAN_PACKAGES));
    expect(missing.map((n) => n.package)).toEqual([]);
    expect(message).toBeNull();
    for (const need of Object.values(DEBIAN_PACKAGES)) expect(await need.present(), need.package).toBe(true);
  });
});
