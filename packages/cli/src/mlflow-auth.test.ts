import { describe, expect, it } from "vitest";
import { keyedReason, mlflowAuthOn } from "./mlflow-auth.js";

const none = async () => false;
const stored = async () => true;

describe("MLflow auth of npm start", () => {
  it("follows API keys by default: a non-loopback bind, a bootstrap key or a stored key turn it on", async () => {
    expect(await keyedReason({}, none)).toBeNull();
    expect(await keyedReason({ HOST: "127.0.0.1" }, none)).toBeNull();
    expect(await keyedReason({ HOST: "0.0.0.0" }, none)).toBe("the gateway binds 0.0.0.0");
    expect(await keyedReason({ BOOTSTRAP_ADMIN_KEY: "asg_x" }, none)).toBe("BOOTSTRAP_ADMIN_KEY is set");
    expect(await keyedReason({ HOST: "localhost" }, stored)).toBe("an API key exists");
    expect(await mlflowAuthOn("auto", {}, none)).toBe(false);
    expect(await mlflowAuthOn("auto", {}, stored)).toBe(true);
  });

  it("does what MLFLOW_AUTH says when it is set, without looking for keys", async () => {
    const never = async () => {
      throw new Error("looked for keys");
    };
    expect(await mlflowAuthOn("basic", {}, never)).toBe(true);
    expect(await mlflowAuthOn("off", { HOST: "0.0.0.0" }, never)).toBe(false);
  });
});
