import { useRef } from "preact/hooks";
import { getJson } from "../api.js";
import { ago, usePoll } from "../hooks.js";
import type { StatusSnapshot } from "../types.js";

const HISTORY = 20;

interface Sample {
  at: string;
  healthy: boolean;
  pending: number | null;
  busy: number | null;
}

/** The status snapshot, refreshed every few seconds, with the last few samples. */
export function Overview() {
  const history = useRef<Sample[]>([]);
  const { data: s, error } = usePoll(
    async (signal) => {
      const snap = await getJson<StatusSnapshot>("/mlops/status", signal);
      const last = history.current[history.current.length - 1];
      if (last?.at !== snap.checked_at) {
        const healthy = components(snap).every(([, c]) => c.available || c.configured === false);
        history.current = [...history.current, { at: snap.checked_at, healthy, pending: snap.queue?.pending ?? null, busy: snap.runners?.busy ?? null }].slice(-HISTORY);
      }
      return snap;
    },
    3000,
    [],
  );
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {!s ? (
        <p aria-busy="true">Loading the platform's status…</p>
      ) : (
        <>
          <div class="tiles">
            <Tile label="Registered models" value={s.registered_models} />
            <Tile label="Active experiments" value={s.active_experiments} />
            <Tile label="Live runners" value={s.runners ? `${s.runners.live} (${s.runners.busy}/${s.runners.slots} slots busy)` : "—"} />
            <Tile label="Queued jobs" value={s.queue ? `${s.queue.pending} waiting, ${s.queue.in_flight} in flight` : "—"} />
          </div>
          <h2>Components</h2>
          <table>
            <caption class="sr-only">Health of each component</caption>
            <thead>
              <tr>
                <th scope="col">Component</th>
                <th scope="col">State</th>
                <th scope="col">Latency</th>
                <th scope="col">Problem</th>
              </tr>
            </thead>
            <tbody>
              {components(s).map(([name, c]) => (
                <tr key={String(name)}>
                  <th scope="row">{name}</th>
                  <td>
                    {c.configured === false ? <span class="badge">not configured</span> : <Badge ok={c.available} text={c.available ? "up" : "down"} />}
                  </td>
                  <td>{c.latency_ms === null ? "—" : `${Math.round(c.latency_ms)} ms`}</td>
                  <td>{c.error ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">
            Checked {ago(s.checked_at)}; MLflow tracking URI <code>{s.mlflow_tracking_uri}</code>.
          </p>
          <h2>Recent checks</h2>
          <ol class="history" aria-label="Recent status checks, oldest first">
            {history.current.map((h) => (
              <li key={h.at} class={h.healthy ? "ok" : "bad"} title={`${new Date(h.at).toLocaleTimeString()}: ${h.healthy ? "all up" : "a component is down"}; queue ${h.pending ?? "?"}; busy ${h.busy ?? "?"}`}>
                <span class="sr-only">
                  {new Date(h.at).toLocaleTimeString()} {h.healthy ? "all up" : "a component is down"}
                </span>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

type Component = StatusSnapshot["components"]["mlflow"] & { configured?: boolean };

function components(s: StatusSnapshot): Array<[string, Component]> {
  const db = s.components.database;
  return [
    ["MLflow", s.components.mlflow],
    ["Feature store", s.components.feature_store],
    ["NATS", s.components.nats],
    [`Database${db.kind ? ` (${db.kind})` : ""}`, db],
    ...(s.services
      ? ([
          ["Job scheduler", s.services.job_scheduler],
          ["Registry", s.services.registry],
          ["Inference", s.services.inference],
        ] as Array<[string, Component]>)
      : []),
  ];
}

function Tile({ label, value }: { label: string; value: string | number }) {
  return (
    <div class="tile">
      <div class="tile-value">{value}</div>
      <div class="tile-label">{label}</div>
    </div>
  );
}

export function Badge({ ok, text }: { ok: boolean; text: string }) {
  return <span class={`badge ${ok ? "ok" : "bad"}`}>{text}</span>;
}
