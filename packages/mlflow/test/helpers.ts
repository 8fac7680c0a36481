import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { createMlflowClient, type MlflowClient, type MlflowClientOptions } from "../src/index.js";

/** A client for the run's MLflow server. */
export function testClient(opts: Partial<MlflowClientOptions> = {}): MlflowClient {
  return createMlflowClient({ baseUrl: inject("infra").mlflowUrl, ...opts });
}

/** A name no other test (or test run against the same server) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

/** Resolves with the rejection of `promise`; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail, but it succeeded");
}
