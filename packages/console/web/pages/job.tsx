import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { getJson, request, sendJson, seg } from "../api.js";
import { ago, messageOf, usePoll } from "../hooks.js";
import { readSse } from "../sse.js";
import { TERMINAL_JOB_STATUSES, type Job, type LogEndEvent, type LogLinesEvent } from "../types.js";
import { RunSection } from "./run-details.js";
import { JobStatus } from "./status-badge.js";

/** Most lines kept on screen; older ones scroll away (the full log stays in the API). */
const MAX_LINES = 5000;

/** One job: status and details (polled while live), the live log tail, the script, cancel. */
export function JobPage({ jobId }: { jobId: string }) {
  const [live, setLive] = useState(true);
  const { data: job, error, reload } = usePoll((signal) => getJson<Job>(`/mlops/training/jobs/${seg(jobId)}`, signal), live ? 2000 : 0, [jobId, live]);
  useEffect(() => {
    if (job && TERMINAL_JOB_STATUSES.includes(job.status)) setLive(false);
  }, [job?.status]);
  if (!job) {
    return error ? (
      <p class="error" role="alert">
        {error} <a href="/jobs">Back to the jobs</a>.
      </p>
    ) : (
      <p aria-busy="true">Loading the job…</p>
    );
  }
  return (
    <section aria-labelledby="job-title">
      <div class="heading">
        <h1 id="job-title">
          {job.script_name} <JobStatus job={job} />
        </h1>
        <Cancel job={job} onDone={reload} />
      </div>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {job.error ? (
        <p class="error" role="alert">
          {job.error}
        </p>
      ) : null}
      {job.registration_error ? <p class="error">Registration failed: {job.registration_error}</p> : null}
      <dl class="details">
        <dt>Job id</dt>
        <dd>
          <code>{job.job_id}</code>
        </dd>
        <dt>Experiment</dt>
        <dd>{job.experiment_name}</dd>
        <dt>Model</dt>
        <dd>
          {job.model_version ? <a href={`/models/${encodeURIComponent(job.model_name)}`}>{`${job.model_name} v${job.model_version}`}</a> : job.model_name}
        </dd>
        <dt>MLflow run</dt>
        <dd>{job.run_id ? <code>{job.run_id}</code> : "—"}</dd>
        <dt>Created</dt>
        <dd>
          <time dateTime={job.created_at}>{ago(job.created_at)}</time>
        </dd>
        <dt>Duration</dt>
        <dd>{job.duration_seconds === null ? "—" : `${job.duration_seconds.toFixed(1)} s`}</dd>
        <dt>Timeout</dt>
        <dd>{job.timeout} s</dd>
        <dt>Requirements</dt>
        <dd>{job.requirements.length ? job.requirements.join(", ") : "none"}</dd>
        {job.exit_code !== null ? (
          <>
            <dt>Exit code</dt>
            <dd>{job.exit_code}</dd>
          </>
        ) : null}
      </dl>
      {job.run_id ? <RunSection job={job} /> : null}
      <h2 id="log-title">Log</h2>
      <LogTail jobId={jobId} />
      <Script jobId={jobId} />
    </section>
  );
}

function Cancel({ job, onDone }: { job: Job; onDone: () => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  if (TERMINAL_JOB_STATUSES.includes(job.status)) return null;
  return (
    <div>
      <button
        type="button"
        class="danger"
        disabled={job.cancel_requested}
        onClick={async () => {
          if (!confirm(`Cancel the job ${job.script_name}? A running script is stopped.`)) return;
          try {
            await sendJson("DELETE", `/mlops/training/jobs/${seg(job.job_id)}`);
            setProblem(null);
            onDone();
          } catch (err) {
            setProblem(messageOf(err));
          }
        }}
      >
        {job.cancel_requested ? "Cancelling…" : "Cancel job"}
      </button>
      {problem ? <p class="error" role="alert">{problem}</p> : null}
    </div>
  );
}

interface Line {
  n: number;
  stream: string;
  text: string;
}

/**
 * The log, streamed from the SSE route with fetch(). Follows the end while the user is at
 * the bottom; scrolling up pauses following until they scroll back down (or press Follow).
 */
function LogTail({ jobId }: { jobId: string }) {
  const [lines, setLines] = useState<Line[]>([]);
  const [state, setState] = useState<"streaming" | "ended" | "error">("streaming");
  const [problem, setProblem] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    let offset = 0;
    setLines([]);
    setState("streaming");
    const run = async () => {
      // A dropped connection resumes from the next line; the server ends the stream at the job's end.
      for (let attempt = 0; !abort.signal.aborted; attempt++) {
        let ended = false;
        try {
          await readSse(`/mlops/training/jobs/${seg(jobId)}/logs?offset=${offset}`, abort.signal, (e) => {
            if (e.event === "log") {
              const batch = JSON.parse(e.data) as LogLinesEvent;
              const start = batch.offset;
              offset = batch.next_offset;
              setLines((prev) => [...prev, ...batch.lines.map((l, i) => ({ n: start + i, stream: l.stream, text: l.text }))].slice(-MAX_LINES));
            } else if (e.event === "end") {
              offset = (JSON.parse(e.data) as LogEndEvent).next_offset;
              ended = true;
            }
          });
          if (ended) {
            setState("ended");
            return;
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          setProblem(messageOf(err));
          if (attempt >= 5) {
            setState("error");
            return;
          }
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    void run();
    return () => abort.abort();
  }, [jobId]);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [lines, follow]);
  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
    if (atBottom !== follow) setFollow(atBottom);
  };
  return (
    <div class="log">
      <div class="log-bar">
        <span role="status" aria-live="polite">
          {state === "streaming" ? (follow ? "Live, following" : "Live, paused (scrolled up)") : state === "ended" ? "Complete" : "Stream lost"}
          {` · ${lines.length} lines`}
        </span>
        {!follow ? (
          <button type="button" onClick={() => setFollow(true)}>
            Follow
          </button>
        ) : null}
      </div>
      {problem && state === "error" ? <p class="error" role="alert">{problem}</p> : null}
      <pre ref={box} class="log-lines" tabIndex={0} aria-labelledby="log-title" onScroll={onScroll} data-testid="log">
        {lines.map((l) => (
          <div key={l.n} class={`l-${l.stream}`}>
            {l.text}
          </div>
        ))}
      </pre>
    </div>
  );
}

function Script({ jobId }: { jobId: string }) {
  const [script, setScript] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <details
      class="script"
      onToggle={async (e) => {
        if (!(e.currentTarget as HTMLDetailsElement).open || script !== null) return;
        try {
          setScript(await (await request("GET", `/mlops/training/jobs/${seg(jobId)}/script`, { accept: "text/x-python" })).text());
        } catch (err) {
          setProblem(messageOf(err));
        }
      }}
    >
      <summary>Script</summary>
      {problem ? <p class="error">{problem}</p> : <pre tabIndex={0}>{script ?? "Loading…"}</pre>}
    </details>
  );
}
