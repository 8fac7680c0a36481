import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import axe from "axe-core";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildConsole } from "@asgard/console/build";
import { CHROMIUM_PATH } from "@asgard/infra";
import { startPlatform, type Platform } from "@asgard/test-support";

/** Screenshots of each page, for a reviewer (git-ignored). */
const SHOTS = resolve("test-results", "console");

/** A script as users write it: plain MLflow, a few lines of progress, a logged sklearn model. */
const SCRIPT = `
import time
import mlflow, mlflow.sklearn
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

X, y = make_classification(n_samples=200, n_features=4, n_informative=3, n_redundant=1, random_state=0)
with mlflow.start_run():
    for epoch in range(4):
        print(f"epoch {epoch}", flush=True)
        mlflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
        time.sleep(1)
    model = LogisticRegression(max_iter=200).fit(X, y)
    mlflow.log_metric("train_accuracy", model.score(X, y))
    mlflow.sklearn.log_model(model, "model", input_example=X[:2])
    print("model logged")
`;

const INPUTS = { f0: [0.5, -1.2], f1: [1.0, 0.3], f2: [-0.7, 2.1], f3: [0.1, -0.4] };
const LONG = 20 * 60_000;

/** Runs axe-core in the page; serious or critical violations fail the test with their ids and targets. */
async function expectAccessible(page: Page, what: string): Promise<void> {
  // Evaluated through DevTools, which the page's CSP does not govern (a <script> tag would be refused).
  await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: typeof axe }).axe.run({ resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, targets: v.nodes.map((n) => n.target.join(" ")) }));
  });
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad, `${what}: ${JSON.stringify(bad)}`).toEqual([]);
}

/** What of a canvas the pixel count reads (the test's TypeScript has no DOM types). */
interface Canvas2d {
  width: number;
  height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

/** Counts a canvas's non-transparent pixels (run in the page): uPlot drew axes and a line, not an empty box. */
function drawnPixels(element: unknown): number {
  const canvas = element as Canvas2d;
  const data = canvas.getContext("2d")?.getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; data && i < data.length; i += 4) if ((data[i] ?? 0) > 0) n++;
  return n;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe("the web console in a real browser, against the real platform", () => {
  const infra = inject("infra");
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const modelName = `console-model-${Math.random().toString(36).slice(2, 8)}`;
  let jobId = "";

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    await buildConsole();
    platform = await startPlatform(infra, { runners: 1, services: ["job-scheduler", "registry", "inference", "status", "gateway"] });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ["--no-sandbox"] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on("console", (m) => {
      // Chromium reports every non-2xx fetch as a console error. A 503 is the API's documented
      // "warming up, retry" (no status snapshot yet, a model still loading); anything else counts.
      if (m.type() === "error" && !/status of 503/.test(m.text())) consoleErrors.push(m.text());
    });
    page.on("pageerror", (err) => consoleErrors.push(err.message));
    // Cancelling, promoting and demoting ask for a confirmation: the user says yes.
    page.on("dialog", (d) => void d.accept());
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it("shows the platform's status on the overview", async () => {
    await page.goto(`${platform.api}/`);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.getByText("Registered models").waitFor({ timeout: 120_000 });
    await page.getByRole("row", { name: /MLflow/ }).getByText("up").waitFor({ timeout: 120_000 });
    await shot(page, "overview");
    await expectAccessible(page, "overview");
  }, 300_000);

  it("checks the form as the API does, then submits a job and follows its log to completion", async () => {
    await page.getByRole("link", { name: "New job" }).first().click();
    await page.getByRole("heading", { name: "New training job" }).waitFor();
    await page.locator("#script").setInputFiles({ name: "train_console.py", mimeType: "text/x-python", buffer: Buffer.from(SCRIPT) });
    await page.getByLabel("Experiment").fill("console-e2e");
    await page.getByLabel("Model name").fill(modelName);
    await page.getByLabel("Requirements").fill("scikit-learn");
    await page.getByLabel("Timeout (seconds)").fill("900");
    // A platform name is refused in the browser with the API's own words; nothing is sent.
    await page.getByLabel("Environment variables").fill("PATH=/tmp");
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.getByText("is reserved (PATH is set by the platform)", { exact: false }).first().waitFor();
    expect(page.url()).toBe(`${platform.api}/new`);
    await expectAccessible(page, "new job with errors");
    await shot(page, "new-job");

    await page.getByLabel("Environment variables").fill("EPOCHS=4");
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    jobId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop() ?? "");
    expect(jobId).not.toBe("");

    // A line of the script while the stream is still live: the log arrives as it happens.
    const log = page.getByTestId("log");
    await log.getByText("epoch 0").waitFor({ timeout: LONG });
    const barWhenFirstLine = await page.locator(".log-bar [role=status]").textContent();
    expect(barWhenFirstLine).toMatch(/^Live/);
    await log.getByText("model logged").waitFor({ timeout: LONG });
    await page.getByRole("heading", { name: /train_console\.py/ }).locator(".status-completed").waitFor({ timeout: LONG });
    await page.getByText("Complete", { exact: false }).first().waitFor({ timeout: 60_000 });
    await page.getByRole("link", { name: `${modelName} v1` }).waitFor({ timeout: 60_000 });

    // The run's numbers through our API: its params and metrics, and uPlot's canvas of the loss by step.
    const chart = page.getByTestId("chart-loss");
    await chart.locator(".uplot canvas").waitFor({ timeout: 60_000 });
    expect(await chart.getAttribute("data-points")).toBe("4");
    expect(await chart.locator("canvas").evaluate(drawnPixels)).toBeGreaterThan(100);
    await page.getByRole("table", { name: "Metrics (latest)" }).getByRole("rowheader", { name: "train_accuracy" }).waitFor();
    // The tracking URL is on loopback like the console here (local mode): the run is linked in MLflow's UI.
    const job = (await (await fetch(`${platform.api}/mlops/training/jobs/${jobId}`)).json()) as { run_id: string };
    const mlflowLink = await page.getByRole("link", { name: "Open the run in MLflow" }).getAttribute("href");
    expect(mlflowLink).toMatch(new RegExp(`^http://[^/]+/#/experiments/\\d+/runs/${job.run_id}$`));
    await expectAccessible(page, "job");
    await shot(page, "job");

    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    await page.getByRole("link", { name: "train_console.py" }).first().waitFor();
    await page.getByLabel("Status").selectOption("completed");
    await page.getByRole("link", { name: "train_console.py" }).first().waitFor();
    await expectAccessible(page, "jobs");
    await shot(page, "jobs");
  }, LONG + 120_000);

  it("compares versions side by side, promotes one after a confirmation and predicts from the form its signature makes", async () => {
    // A second version of the same run, as any client may register: the comparison has two columns.
    const runId = ((await (await fetch(`${platform.api}/mlops/training/jobs/${jobId}`)).json()) as { run_id: string }).run_id;
    const registered = await fetch(`${platform.api}/mlops/registry`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model_name: modelName, run_id: runId }),
    });
    expect(registered.status).toBe(201);

    await page.getByRole("link", { name: "Models", exact: true }).click();
    await page.getByRole("link", { name: modelName }).click();
    await page.getByRole("heading", { name: modelName }).waitFor();
    const compare = page.getByTestId("compare");
    await compare.getByRole("columnheader", { name: "v2" }).waitFor({ timeout: 30_000 });
    const accuracy = await compare.getByRole("row", { name: /train_accuracy/ }).getByRole("cell").allTextContents();
    expect(accuracy).toHaveLength(2);
    expect(accuracy[0]).toBe(accuracy[1]);
    expect(Number(accuracy[0])).toBeGreaterThan(0.5);

    await page.getByRole("form", { name: "Set an alias" }).getByRole("combobox").selectOption("1");
    await page.getByRole("button", { name: "Promote" }).click();
    await page.getByText("@champion now points at v1", { exact: false }).waitFor();
    const model = (await (await fetch(`${platform.api}/mlops/models/${modelName}`)).json()) as { aliases: Record<string, string> };
    expect(model.aliases).toEqual({ champion: "1" });

    // The model was logged from a numpy array: its signature is a [-1, 4] tensor, so the form has f0…f3,
    // prefilled from the logged input example.
    await page.getByLabel("Version", { exact: true }).last().selectOption("@champion");
    const form = page.getByTestId("signature-form");
    await form.waitFor();
    expect(await form.locator("input").count()).toBe(4);
    expect(await form.getByLabel("f0").inputValue()).not.toBe("");
    for (const [name, values] of Object.entries(INPUTS)) await form.getByLabel(name).fill(String(values[0]));
    expect(await form.locator("input:invalid").count()).toBe(0);
    const predictions = page.getByTestId("predictions");
    // The first prediction may find the model still loading: the API answers 503 once its load
    // wait (30 s) is over, and the user presses again.
    for (let tries = 0; tries < 60; tries++) {
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/mlops/inference"), { timeout: 120_000 }),
        page.getByRole("button", { name: "Predict" }).click(),
      ]);
      if (answer.status() !== 503) break;
      await page.waitForTimeout(1_000);
    }
    await predictions.waitFor();
    const firstRow = Object.fromEntries(Object.entries(INPUTS).map(([k, v]) => [k, [v[0]]]));
    const api = (await (
      await fetch(`${platform.api}/mlops/inference`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model_name: modelName, model_version: "@champion", inputs: firstRow, return_probabilities: true }),
      })
    ).json()) as { predictions: unknown[]; probabilities: number[][] };
    const rows = await predictions.locator("tbody tr").allTextContents();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(JSON.stringify(api.predictions[0]));
    expect(rows[0]).toContain(api.probabilities[0]?.map((x) => x.toFixed(3)).join(", "));
    await expectAccessible(page, "model");
    await shot(page, "model");

    // Demoting asks too, and the alias is gone from the API.
    await page.getByRole("button", { name: "Remove alias champion" }).click();
    await page.getByText("@champion removed.").waitFor();
    const after = (await (await fetch(`${platform.api}/mlops/models/${modelName}`)).json()) as { aliases: Record<string, string> };
    expect(after.aliases).toEqual({});
  }, 600_000);

  it("fits a phone's screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${platform.api}/jobs/${encodeURIComponent(jobId)}`);
    await page.getByTestId("log").getByText("model logged").waitFor();
    const overflow = (await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await expectAccessible(page, "job on a phone");
    await shot(page, "job-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 120_000);

  it("logged no error in the browser's console", () => {
    expect(consoleErrors).toEqual([]);
  });

  // Last: creating the first key turns the platform's keys on for good.
  it("once keys are on, asks for one, keeps it in the tab and sends it as a header", async () => {
    const created = await fetch(`${platform.api}/mlops/keys`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "console-e2e", scopes: ["admin"] }),
    });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    for (let tries = 0; (await fetch(`${platform.api}/mlops/training/jobs?limit=1`)).status !== 401; tries++) {
      expect(tries).toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.goto(`${platform.api}/jobs`);
    await page.getByRole("heading", { name: "API key needed" }).waitFor();
    await expectAccessible(page, "key prompt");
    await shot(page, "key-prompt");
    await page.getByLabel("API key").fill(key);
    const [sent] = await Promise.all([
      page.waitForRequest((r) => r.url().includes("/mlops/training/jobs?") && r.headers().authorization !== undefined),
      page.getByRole("button", { name: "Use key" }).click(),
    ]);
    expect(sent.headers().authorization).toBe(`Bearer ${key}`);
    await page.getByRole("link", { name: "train_console.py" }).first().waitFor();
    expect(await page.getByRole("heading", { name: "API key needed" }).count()).toBe(0);
    expect(await page.evaluate('sessionStorage.getItem("asgard.apiKey")')).toBe(key);
    expect(await page.context().cookies()).toEqual([]);
    // The only errors are the refusals that made the console ask.
    expect(consoleErrors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  }, 120_000);
});
