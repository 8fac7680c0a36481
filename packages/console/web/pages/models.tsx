import { getJson } from "../api.js";
import { ago, usePoll } from "../hooks.js";
import type { ModelInfo } from "../types.js";

/** Registered models with their newest version and aliases. */
export function Models() {
  const { data, error } = usePoll((signal) => getJson<ModelInfo[]>("/mlops/models", signal), 10_000, []);
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {!data ? (
        <p aria-busy="true">Loading models…</p>
      ) : data.length === 0 ? (
        <p>
          No registered models yet: a job registers its model when it completes. <a href="/new">Submit a training script</a>.
        </p>
      ) : (
        <div class="scroll-x">
          <table>
            <caption class="sr-only">Registered models</caption>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Newest version</th>
                <th scope="col">Aliases</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {data.map((m) => {
                const newest = m.latest_versions.reduce((a, v) => (Number(v.version) > Number(a) ? v.version : a), "0");
                return (
                  <tr key={m.name}>
                    <td>
                      <a href={`/models/${encodeURIComponent(m.name)}`}>{m.name}</a>
                    </td>
                    <td>{newest === "0" ? "—" : `v${newest}`}</td>
                    <td>{Object.entries(m.aliases).map(([a, v]) => <span key={a} class="badge alias">{`@${a} → v${v}`}</span>)}</td>
                    <td>
                      <time dateTime={m.updated_at}>{ago(m.updated_at)}</time>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
