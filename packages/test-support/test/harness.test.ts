import { inject, describe, expect, it } from "vitest";

describe("the harness's servers", () => {
  it("MLflow answers its health check and its REST API", async () => {
    const { mlflowUrl } = inject("infra");
    expect((await fetch(`${mlflowUrl}/health`)).status).toBe(200);
    const res = await fetch(`${mlflowUrl}/api/2.0/mlflow/experiments/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ max_results: 5, filter: "name = 'Default'" }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { experiments: Array<{ name: string }> };
    expect(body.experiments.map((e) => e.name)).toContain("Default");
  });
});
