import { useState } from "preact/hooks";
import { parseUploadRequest } from "@asgard/contracts/upload";
import { ApiError, sendJson, type FieldIssue } from "../api.js";
import { messageOf } from "../hooks.js";
import { navigate } from "../router.js";
import type { Job } from "../types.js";

interface Draft {
  scriptName: string;
  script: string | null;
  experiment: string;
  model: string;
  requirements: string;
  env: string;
  timeout: string;
}

const EMPTY: Draft = { scriptName: "", script: null, experiment: "", model: "", requirements: "", env: "", timeout: "300" };

function base64(text: string): string {
  let binary = "";
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** `KEY=value` lines → an object; a line without "=" is kept as a name with no value so the check names it. */
function envObject(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const eq = line.indexOf("=");
    out[(eq < 0 ? line : line.slice(0, eq)).trim()] = eq < 0 ? "" : line.slice(eq + 1);
  }
  return out;
}

/** The upload body the API takes (`POST /mlops/training/upload`). */
function body(d: Draft) {
  const timeout = d.timeout.trim() === "" ? undefined : Number(d.timeout);
  return {
    script_name: d.scriptName,
    script_content: d.script === null ? "" : base64(d.script),
    experiment_name: d.experiment.trim(),
    model_name: d.model.trim(),
    requirements: d.requirements.split(/[\n,]/).map((r) => r.trim()).filter(Boolean),
    environment_vars: envObject(d.env),
    ...(timeout === undefined ? {} : { timeout }),
  };
}

/** Form field each API field path belongs to. */
function fieldOf(path: string): keyof Draft {
  if (path.startsWith("script_content")) return "script";
  if (path.startsWith("script_name")) return "script";
  if (path.startsWith("experiment_name")) return "experiment";
  if (path.startsWith("model_name")) return "model";
  if (path.startsWith("requirements")) return "requirements";
  if (path.startsWith("environment_vars")) return "env";
  return "timeout";
}

/**
 * Submit a training script. The same checks as the API run before sending (the contracts'
 * upload schema, bundled), so mistakes show beside their field with the API's words; the
 * gateway's own answer (its limits may differ from the defaults) is shown the same way.
 */
export function NewJob() {
  const [d, setD] = useState<Draft>(EMPTY);
  const [issues, setIssues] = useState<Partial<Record<keyof Draft, string[]>>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);
  const set = (k: keyof Draft) => (e: Event) => setD({ ...d, [k]: (e.currentTarget as HTMLInputElement).value });

  const readFile = async (file: File | undefined) => {
    if (!file) return;
    setD((prev) => ({ ...prev, scriptName: file.name }));
    const text = await file.text();
    setD((prev) => ({ ...prev, scriptName: file.name, script: text }));
  };
  const show = (list: readonly FieldIssue[]) => {
    const byField: Partial<Record<keyof Draft, string[]>> = {};
    for (const i of list) (byField[fieldOf(i.field)] ??= []).push(`${i.field}: ${i.message}`);
    setIssues(byField);
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    if (d.script === null) {
      show([{ field: "script_content", message: "choose or drop a .py file first" }]);
      return;
    }
    const payload = body(d);
    const checked = parseUploadRequest(payload);
    if (!checked.ok) {
      show(checked.body.issues ?? []);
      setProblem(checked.body.message);
      return;
    }
    setIssues({});
    setBusy(true);
    try {
      const job = await sendJson<Job>("POST", "/mlops/training/upload", payload);
      if (job) navigate(`/jobs/${encodeURIComponent(job.job_id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) show(err.issues);
      setProblem(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const errs = (k: keyof Draft) =>
    issues[k]?.length ? (
      <ul class="field-errors" id={`${k}-errors`}>
        {issues[k]?.map((m) => <li key={m}>{m}</li>)}
      </ul>
    ) : null;
  const described = (k: keyof Draft, hint?: string) => [hint, issues[k]?.length ? `${k}-errors` : undefined].filter(Boolean).join(" ") || undefined;

  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title">New training job</h1>
      <form class="card form" onSubmit={submit} noValidate>
        {problem ? (
          <p class="error" role="alert">
            {problem}
          </p>
        ) : null}
        <div
          class={`drop${dragging ? " dragging" : ""}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            void readFile(e.dataTransfer?.files[0]);
          }}
        >
          <label for="script">Training script (.py)</label>
          <input id="script" type="file" accept=".py,text/x-python" aria-describedby={described("script", "script-hint")} aria-invalid={issues.script ? true : undefined} onChange={(e) => void readFile(e.currentTarget.files?.[0])} />
          <p id="script-hint" class="muted">
            Drop a file here or choose one. {d.script !== null ? `${d.scriptName}: ${d.script.split("\n").length} lines.` : "It logs to MLflow as usual; the platform gives it the tracking URI and run."}
          </p>
          {errs("script")}
        </div>
        <label for="experiment">Experiment</label>
        <input id="experiment" value={d.experiment} onInput={set("experiment")} aria-invalid={issues.experiment ? true : undefined} aria-describedby={described("experiment")} required />
        {errs("experiment")}
        <label for="model">Model name</label>
        <input id="model" value={d.model} onInput={set("model")} aria-invalid={issues.model ? true : undefined} aria-describedby={described("model", "model-hint")} required />
        <p id="model-hint" class="muted">
          The registered model the trained model becomes a version of.
        </p>
        {errs("model")}
        <label for="requirements">Requirements</label>
        <textarea id="requirements" rows={3} value={d.requirements} onInput={set("requirements")} aria-invalid={issues.requirements ? true : undefined} aria-describedby={described("requirements", "req-hint")} placeholder={"scikit-learn\npandas>=2"} />
        <p id="req-hint" class="muted">
          One PEP 508 requirement per line (or comma-separated); no pip options, URLs or paths.
        </p>
        {errs("requirements")}
        <label for="env">Environment variables</label>
        <textarea id="env" rows={2} value={d.env} onInput={set("env")} aria-invalid={issues.env ? true : undefined} aria-describedby={described("env", "env-hint")} placeholder="DATA_PATH=/data" />
        <p id="env-hint" class="muted">
          One <code>NAME=value</code> per line; given to the script only.
        </p>
        {errs("env")}
        <label for="timeout">Timeout (seconds)</label>
        <input id="timeout" type="number" inputMode="numeric" value={d.timeout} onInput={set("timeout")} aria-invalid={issues.timeout ? true : undefined} aria-describedby={described("timeout")} />
        {errs("timeout")}
        <div class="row">
          <button type="submit" disabled={busy}>
            {busy ? "Submitting…" : "Submit job"}
          </button>
        </div>
      </form>
    </section>
  );
}
