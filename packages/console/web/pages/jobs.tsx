import { getJson } from "../api.js";
import { ago, usePoll } from "../hooks.js";
import { navigate, useLocation } from "../router.js";
import { JOB_STATUSES, type JobListResponse } from "../types.js";
import { JobStatus } from "./status-badge.js";

/**
 * Jobs, newest first, refreshed every few seconds. Status and experiment filter on the
 * server; the API has no model filter, so that one narrows the page shown.
 */
export function Jobs() {
  const { query } = useLocation();
  const status = query.get("status") ?? "";
  const experiment = query.get("experiment") ?? "";
  const model = query.get("model") ?? "";
  const { data, error } = usePoll(
    (signal) => {
      const q = new URLSearchParams({ limit: "100" });
      if (status) q.set("status", status);
      if (experiment) q.set("experiment_name", experiment);
      return getJson<JobListResponse>(`/mlops/training/jobs?${q.toString()}`, signal);
    },
    2000,
    [status, experiment],
  );
  const setFilter = (name: string, value: string) => {
    const q = new URLSearchParams(location.search);
    if (value) q.set(name, value);
    else q.delete(name);
    const s = q.toString();
    history.replaceState(null, "", `/jobs${s ? `?${s}` : ""}`);
    dispatchEvent(new PopStateEvent("popstate"));
  };
  const jobs = (data?.jobs ?? []).filter((j) => !model || j.model_name === model);
  return (
    <section aria-labelledby="jobs-title">
      <div class="heading">
        <h1 id="jobs-title">Jobs</h1>
        <button type="button" onClick={() => navigate("/new")}>
          New job
        </button>
      </div>
      <form class="filters" role="search" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(e) => setFilter("status", e.currentTarget.value)}>
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Experiment
          <input type="search" value={experiment} placeholder="exact name" onChange={(e) => setFilter("experiment", e.currentTarget.value.trim())} />
        </label>
        <label>
          Model
          <input type="search" value={model} placeholder="exact name" onChange={(e) => setFilter("model", e.currentTarget.value.trim())} />
        </label>
      </form>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {!data ? (
        <p aria-busy="true">Loading jobs…</p>
      ) : jobs.length === 0 ? (
        <p>
          No jobs{status || experiment || model ? " match these filters" : " yet"}. <a href="/new">Submit a training script</a>.
        </p>
      ) : (
        <div class="scroll-x">
          <table>
            <caption class="sr-only">Training jobs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Script</th>
                <th scope="col">Status</th>
                <th scope="col">Experiment</th>
                <th scope="col">Model</th>
                <th scope="col">Created</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.job_id}>
                  <td>
                    <a href={`/jobs/${encodeURIComponent(j.job_id)}`}>{j.script_name}</a>
                  </td>
                  <td>
                    <JobStatus job={j} />
                  </td>
                  <td>{j.experiment_name}</td>
                  <td>
                    {j.model_name}
                    {j.model_version ? ` v${j.model_version}` : ""}
                  </td>
                  <td>
                    <time dateTime={j.created_at}>{ago(j.created_at)}</time>
                  </td>
                  <td>{j.duration_seconds === null ? "—" : `${j.duration_seconds.toFixed(1)} s`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
