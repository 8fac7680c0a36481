import { describe, expect, it } from "vitest";
import type { ModelVersion, RegisteredModel } from "@asgard/mlflow";
import { isoFromMs, toModelInfo, versionStatus } from "./mapping.js";

const version = (v: string, overrides: Partial<ModelVersion> = {}): ModelVersion => ({
  name: "m",
  version: v,
  creation_timestamp: 1_700_000_000_000,
  last_updated_timestamp: null,
  current_stage: "None",
  description: "",
  source: "models:/m-1",
  run_id: "",
  model_id: "",
  run_link: "",
  user_id: "",
  status: "READY",
  status_message: "",
  tags: [],
  aliases: [],
  ...overrides,
});

describe("MLflow → API shapes", () => {
  it("maps a registered model: empty strings to null, newest version first, aliases on both levels", () => {
    const rm: RegisteredModel = {
      name: "m",
      creation_timestamp: 1_700_000_000_000,
      last_updated_timestamp: 1_700_000_100_000,
      description: "",
      latest_versions: [version("2", { current_stage: "Staging", run_id: "r2", tags: [{ key: "k", value: "v" }] }), version("3")],
      tags: [{ key: "team", value: "a" }],
      aliases: [
        { alias: "champion", version: "3" },
        { alias: "canary", version: "3" },
        { alias: "old", version: "2" },
      ],
    };
    const info = toModelInfo(rm);
    expect(info).toMatchObject({
      name: "m",
      description: null,
      tags: { team: "a" },
      created_at: "2023-11-14T22:13:20.000Z",
      updated_at: "2023-11-14T22:15:00.000Z",
      aliases: { champion: "3", canary: "3", old: "2" },
    });
    expect(info.latest_versions.map((v) => [v.version, v.stage, v.run_id, v.aliases])).toEqual([
      ["3", "None", null, ["canary", "champion"]],
      ["2", "Staging", "r2", ["old"]],
    ]);
    expect(info.latest_versions[1]).toMatchObject({ tags: { k: "v" }, description: null, updated_at: "2023-11-14T22:13:20.000Z" });
  });

  it("reads unknown statuses as pending and missing times as the epoch", () => {
    expect(versionStatus("SOMETHING_NEW")).toBe("PENDING_REGISTRATION");
    expect(versionStatus("FAILED_REGISTRATION")).toBe("FAILED_REGISTRATION");
    expect(isoFromMs(null)).toBe("1970-01-01T00:00:00.000Z");
  });
});
