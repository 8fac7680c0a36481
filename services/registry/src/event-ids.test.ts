import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { aliasChangedEventId, claimToken, registeredEventId, registrationFailedEventId } from "./event-ids.js";

/** The ids of the release before tenants: sha256 of the parts joined by NUL, 32 hex digits. */
const before = (...parts: string[]) => createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);

describe("event ids", () => {
  it("keeps the default tenant's ids of the release before tenants", () => {
    expect(registeredEventId("default", "churn", "3", null)).toBe(before("model.registered", "churn", "3", ""));
    expect(registeredEventId("default", "churn", "3", "job-1")).toBe(before("model.registered", "churn", "3", "job-1"));
    expect(registrationFailedEventId("default", "job-1")).toBe(before("model.registration_failed", "job-1"));
    expect(aliasChangedEventId("default", "churn", "champion", "1", "2")).toBe(before("model.alias.changed", "churn", "champion", "1", "2"));
    expect(claimToken("default", "job-1")).toBe(before("registry.claim", "job-1"));
  });

  it("gives the same fact in two tenants two ids", () => {
    const ids = ["default", "team-a", "team-b"].map((t) => registeredEventId(t, "churn", "1", null));
    expect(new Set(ids).size).toBe(3);
    expect(aliasChangedEventId("team-a", "churn", "champion", null, "1")).not.toBe(aliasChangedEventId("team-b", "churn", "champion", null, "1"));
    expect(claimToken("team-a", "job-1")).not.toBe(claimToken("team-b", "job-1"));
    // A tenant is no extra part a default-tenant fact could spell.
    expect(registeredEventId("team-a", "churn", "1", null)).not.toBe(registeredEventId("default", "churn", "1", "\u0000tenant\u0000team-a"));
  });
});
