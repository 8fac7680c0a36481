import { expect } from "vitest";
import type { ParseResult } from "./common.js";

/** Base64 of UTF-8 text, as Python's `base64.b64encode(s.encode()).decode()` makes it. */
export const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** The training script of the seed report's complete example. */
export const SEED_SCRIPT = `
import mlflow
from sklearn.ensemble import RandomForestClassifier
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score

mlflow.set_experiment("my-experiment")

with mlflow.start_run() as run:
    X, y = make_classification(n_samples=1000, n_features=20)
    model = RandomForestClassifier()
    model.fit(X, y)

    accuracy = accuracy_score(y, model.predict(X))
    mlflow.log_metric("accuracy", accuracy)
    mlflow.log_param("n_estimators", 100)

    print(f"Accuracy: {accuracy:.4f}")
`;

/** Asserts a refusal with `status` whose issues name `field`; returns the messages about it. */
export function expectRefused<T>(result: ParseResult<T>, status: number, field: string): string[] {
  if (result.ok) throw new Error(`expected a ${status} naming ${field}, but the request was accepted`);
  expect(result.status).toBe(status);
  expect(result.body.message.length).toBeGreaterThan(0);
  const about = (result.body.issues ?? []).filter((i) => i.field === field).map((i) => i.message);
  expect(about, `issues: ${JSON.stringify(result.body.issues)}`).not.toHaveLength(0);
  for (const m of about) expect(m.length).toBeGreaterThan(0);
  return about;
}

/** Asserts acceptance and returns the value. */
export function expectAccepted<T>(result: ParseResult<T>): { value: T; warnings: string[] } {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.status}: ${JSON.stringify(result.body)}`);
  return { value: result.value, warnings: result.warnings };
}
