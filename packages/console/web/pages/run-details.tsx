import { getJson, seg } from "../api.js";
import { usePoll } from "../hooks.js";
import { TERMINAL_JOB_STATUSES, type Job, type RunDetails, type StatusSnapshot } from "../types.js";
import { formatValue, MetricChart } from "./metric-chart.js";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/**
 * The run's page in MLflow's own UI, or null where this browser cannot be expected to reach
 * it. Shown only for the default tenant (other tenants are MLflow workspaces, whose UI needs
 * MLflow credentials the console never has) and only when the tracking URL the platform
 * hands to jobs is one this browser reaches: the same host name as the console, or a loopback
 * address while the console itself is opened on loopback (local mode on a laptop). An
 * in-cluster name (`http://mlflow:5000`) is never linked.
 */
export function mlflowRunUrl(trackingUri: string, job: Pick<Job, "tenant">, run: Pick<RunDetails, "experiment_id" | "run_id">, here: Location = location): string | null {
  if (job.tenant !== "default") return null;
  let url: URL;
  try {
    url = new URL(trackingUri);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const reachable = url.hostname === here.hostname || (LOOPBACK.has(url.hostname) && LOOPBACK.has(here.hostname));
  if (!reachable) return null;
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}/#/experiments/${encodeURIComponent(run.experiment_id)}/runs/${encodeURIComponent(run.run_id)}`;
}

/** The job's MLflow run through our API: parameters, latest metrics, a chart per metric history. */
export function RunSection({ job }: { job: Job }) {
  const live = !TERMINAL_JOB_STATUSES.includes(job.status);
  const { data: run, error } = usePoll((signal) => getJson<RunDetails>(`/mlops/training/jobs/${seg(job.job_id)}/run`, signal), live ? 3000 : 0, [job.job_id, live]);
  const { data: status } = usePoll((signal) => getJson<StatusSnapshot>("/mlops/status", signal), 0, []);
  if (!run) return error ? <p class="error">The run could not be read: {error}</p> : <p aria-busy="true">Loading the run…</p>;
  const link = status ? mlflowRunUrl(status.mlflow_tracking_uri, job, run) : null;
  const params = Object.entries(run.params).sort(([a], [b]) => a.localeCompare(b));
  const metrics = Object.entries(run.metrics).sort(([a], [b]) => a.localeCompare(b));
  // One point makes no line: such a metric is in the table only.
  const charted = Object.entries(run.histories).filter(([, points]) => points.length > 1);
  return (
    <section aria-labelledby="run-title">
      <div class="heading">
        <h2 id="run-title">MLflow run</h2>
        {link ? (
          <a href={link} rel="noopener noreferrer">
            Open the run in MLflow
          </a>
        ) : null}
      </div>
      {error ? <p class="error">{error}</p> : null}
      <div class="two-col">
        <KeyValues caption="Parameters" rows={params.map(([k, v]) => [k, v])} empty="No parameters logged." />
        <KeyValues caption="Metrics (latest)" rows={metrics.map(([k, v]) => [k, formatValue(v)])} empty="No metrics logged yet." />
      </div>
      {charted.length > 0 ? (
        <div class="charts">
          {charted.map(([key, points]) => (
            <MetricChart key={key} name={key} points={points} />
          ))}
        </div>
      ) : null}
      {run.histories_omitted.length > 0 ? <p class="muted">Not charted (too many metrics): {run.histories_omitted.join(", ")}.</p> : null}
    </section>
  );
}

function KeyValues({ caption, rows, empty }: { caption: string; rows: [string, string][]; empty: string }) {
  return (
    <div class="scroll-x">
      <table>
        <caption>{caption}</caption>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td>{empty}</td>
            </tr>
          ) : (
            rows.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td class="mono">{v}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
