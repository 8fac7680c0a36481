import { describe, expect, it } from "vitest";
import { canSee, listFilterProblem } from "./scope.js";

describe("job scope", () => {
  const member = { tenant: "team-a", admin: false };
  const admin = { tenant: "team-a", admin: true };

  it("lets a tenant's key see its own jobs only, and an admin every tenant's", () => {
    expect(canSee(member, { tenant: "team-a" })).toBe(true);
    expect(canSee(member, { tenant: "team-b" })).toBe(false);
    expect(canSee(member, { tenant: "default" })).toBe(false);
    expect(canSee(admin, { tenant: "team-b" })).toBe(true);
  });

  it("refuses a non-admin's filter on another tenant, naming its own", () => {
    expect(listFilterProblem(member, undefined)).toBeNull();
    expect(listFilterProblem(member, "team-a")).toBeNull();
    expect(listFilterProblem(member, "team-b")).toMatch(/tenant "team-a" .* leave out tenant=/);
    expect(listFilterProblem(admin, "team-b")).toBeNull();
  });
});
