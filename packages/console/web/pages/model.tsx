import { useState } from "preact/hooks";
import { getJson, sendJson, seg } from "../api.js";
import { ago, messageOf, usePoll } from "../hooks.js";
import type { AliasResponse, InferenceResponse, ModelInfo, ModelSignature, ModelVersionDetails, ModelVersionList } from "../types.js";
import { formFields, readFields, type FormField } from "./signature-form.js";
import { formatValue } from "./metric-chart.js";

/** One registered model: versions side by side, aliases (promote/demote after a confirmation), try it. */
export function ModelPage({ name }: { name: string }) {
  const { data: m, error, reload } = usePoll((signal) => getJson<ModelInfo>(`/mlops/models/${seg(name)}`, signal), 10_000, [name]);
  const { data: list, reload: reloadVersions } = usePoll((signal) => getJson<ModelVersionList>(`/mlops/models/${seg(name)}/versions`, signal), 10_000, [name]);
  if (!m) return error ? <p class="error" role="alert">{error}</p> : <p aria-busy="true">Loading the model…</p>;
  const detailed = list?.versions ?? m.latest_versions.map((v) => ({ ...v, run: null }));
  const versions = [...new Set([...detailed.map((v) => v.version), ...Object.values(m.aliases)])].sort((a, b) => Number(b) - Number(a));
  const ready = detailed.filter((v) => v.status === "READY").map((v) => v.version);
  const changed = () => {
    reload();
    reloadVersions();
  };
  return (
    <section aria-labelledby="model-title">
      <h1 id="model-title">{m.name}</h1>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {m.description ? <p>{m.description}</p> : null}
      <h2>Versions</h2>
      <div class="scroll-x">
        <table>
          <caption class="sr-only">Versions of {m.name}</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Status</th>
              <th scope="col">Aliases</th>
              <th scope="col">Run</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {detailed.map((v) => (
              <tr key={v.version}>
                <th scope="row">v{v.version}</th>
                <td>{v.status}</td>
                <td>
                  {Object.entries(m.aliases)
                    .filter(([, n]) => n === v.version)
                    .map(([a]) => (
                      <span key={a} class="badge alias">
                        @{a}
                      </span>
                    ))}
                </td>
                <td>{v.run_id ? <code>{v.run_id}</code> : "—"}</td>
                <td>
                  <time dateTime={v.created_at}>{ago(v.created_at)}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list?.truncated ? <p class="muted">Only the newest {list.versions.length} versions are listed.</p> : null}
      {list ? <Compare versions={list.versions} /> : null}
      <Aliases model={m} versions={versions} onChange={changed} />
      <TryIt model={m} versions={versions} ready={ready} />
    </section>
  );
}

/** Metrics and parameters of each version's run, one column per version, the best metric value in bold. */
function Compare({ versions }: { versions: ModelVersionDetails[] }) {
  const withRun = versions.filter((v) => v.run);
  if (withRun.length === 0) return null;
  const metricKeys = [...new Set(withRun.flatMap((v) => Object.keys(v.run?.metrics ?? {})))].sort();
  const paramKeys = [...new Set(withRun.flatMap((v) => Object.keys(v.run?.params ?? {})))].sort();
  return (
    <>
      <h2 id="compare-title">Versions side by side</h2>
      <div class="scroll-x" tabIndex={0} aria-labelledby="compare-title">
        <table class="compare" data-testid="compare">
          <caption class="sr-only">Metrics and parameters of each version's run</caption>
          <thead>
            <tr>
              <th scope="col">Metric / parameter</th>
              {withRun.map((v) => (
                <th key={v.version} scope="col">
                  v{v.version}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {metricKeys.map((k) => {
              const values = withRun.map((v) => v.run?.metrics[k] ?? null);
              const numbers = values.filter((x): x is number => x !== null);
              // Which end is best depends on the metric; lower is better for names that read as errors or losses.
              const lowerIsBetter = /loss|err|rmse|mae|mse/i.test(k);
              const best = numbers.length > 1 ? (lowerIsBetter ? Math.min(...numbers) : Math.max(...numbers)) : null;
              return (
                <tr key={`m-${k}`}>
                  <th scope="row">{k}</th>
                  {values.map((x, i) => (
                    <td key={i} class={x !== null && x === best ? "best" : undefined}>
                      {formatValue(x)}
                    </td>
                  ))}
                </tr>
              );
            })}
            {paramKeys.map((k) => (
              <tr key={`p-${k}`}>
                <th scope="row">
                  {k} <span class="muted">(param)</span>
                </th>
                {withRun.map((v) => (
                  <td key={v.version} class="mono">
                    {v.run?.params[k] ?? "—"}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Aliases({ model, versions, onChange }: { model: ModelInfo; versions: string[]; onChange: () => void }) {
  const [alias, setAlias] = useState("champion");
  const [version, setVersion] = useState(versions[0] ?? "");
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const path = (a: string) => `/mlops/models/${seg(model.name)}/aliases/${seg(a)}`;
  const promote = async (e: Event) => {
    e.preventDefault();
    const target = version || versions[0];
    if (!target || !confirm(`Point @${alias} of ${model.name} at version ${target}? Predictions by @${alias} move to it at once.`)) return;
    try {
      const r = await sendJson<AliasResponse>("PUT", path(alias), { version: target });
      setNote({ ok: true, text: `@${alias} now points at v${r?.version ?? target}${r?.previous_version ? ` (was v${r.previous_version})` : ""}.` });
      onChange();
    } catch (err) {
      setNote({ ok: false, text: messageOf(err) });
    }
  };
  const demote = async (a: string) => {
    if (!confirm(`Remove @${a} from ${model.name}? Predictions asking for @${a} fail until it is set again.`)) return;
    try {
      await sendJson("DELETE", path(a));
      setNote({ ok: true, text: `@${a} removed.` });
      onChange();
    } catch (err) {
      setNote({ ok: false, text: messageOf(err) });
    }
  };
  return (
    <>
      <h2>Aliases</h2>
      {note ? (
        <p class={note.ok ? "notice" : "error"} role={note.ok ? "status" : "alert"}>
          {note.text}
        </p>
      ) : null}
      {Object.keys(model.aliases).length === 0 ? <p>No aliases yet.</p> : null}
      <ul class="aliases">
        {Object.entries(model.aliases).map(([a, v]) => (
          <li key={a}>
            <span class="badge alias">@{a}</span> → v{v}{" "}
            <button type="button" class="danger small" onClick={() => void demote(a)} aria-label={`Remove alias ${a}`}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form class="row wrap" onSubmit={promote} aria-label="Set an alias">
        <label>
          Alias
          <input value={alias} onInput={(e) => setAlias(e.currentTarget.value.trim())} required />
        </label>
        <label>
          Version
          <select value={version} onChange={(e) => setVersion(e.currentTarget.value)}>
            {versions.map((v) => (
              <option key={v} value={v}>
                v{v}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Promote</button>
      </form>
    </>
  );
}

/**
 * A prediction from the console, with a form generated from the version's signature: one
 * field per input column (or per element of a `[-1, n]` tensor), prefilled from the logged
 * input example. Without a signature, the inputs are typed as the request's `inputs` object.
 */
function TryIt({ model, versions, ready }: { model: ModelInfo; versions: string[]; ready: string[] }) {
  const refs = ["", ...Object.keys(model.aliases).map((a) => `@${a}`), ...versions];
  const [ref, setRef] = useState("");
  const resolved = ref === "" ? ready[0] ?? versions[0] ?? null : ref.startsWith("@") ? model.aliases[ref.slice(1)] ?? null : ref;
  const { data: signature, error: signatureProblem } = usePoll(
    (signal) => (resolved ? getJson<ModelSignature>(`/mlops/models/${seg(model.name)}/versions/${seg(resolved)}/signature`, signal) : Promise.resolve(null)),
    0,
    [model.name, resolved],
  );
  const fields = signature ? formFields(signature) : null;
  const [values, setValues] = useState<Record<string, string>>({});
  const [raw, setRaw] = useState('{\n  "f0": [0.5],\n  "f1": [1.0]\n}');
  const [probabilities, setProbabilities] = useState(true);
  const [answer, setAnswer] = useState<InferenceResponse | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const valueOf = (f: FormField) => values[`${resolved}/${f.key}`] ?? f.example;
  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    let inputs: unknown;
    if (fields) {
      const read = readFields(fields, valueOf);
      if (typeof read === "string") {
        setProblem(read);
        return;
      }
      inputs = read;
    } else {
      try {
        inputs = JSON.parse(raw);
      } catch {
        setProblem('inputs is not valid JSON: write an object of feature name → list of values, e.g. {"f0": [1.0]}');
        return;
      }
    }
    try {
      setAnswer(
        await sendJson<InferenceResponse>("POST", "/mlops/inference", {
          model_name: model.name,
          ...(ref ? { model_version: ref } : {}),
          inputs,
          return_probabilities: probabilities,
        }),
      );
    } catch (err) {
      setAnswer(null);
      setProblem(messageOf(err));
    }
  };
  return (
    <>
      <h2 id="try-title">Try it</h2>
      <form class="card form" onSubmit={submit} aria-labelledby="try-title">
        <label for="try-version">Version</label>
        <select id="try-version" value={ref} onChange={(e) => setRef(e.currentTarget.value)}>
          {refs.map((r) => (
            <option key={r} value={r}>
              {r === "" ? "latest" : r.startsWith("@") ? r : `v${r}`}
            </option>
          ))}
        </select>
        {signatureProblem ? <p class="error">The signature could not be read: {signatureProblem}</p> : null}
        {fields ? (
          <fieldset class="try-fields" data-testid="signature-form">
            <legend class="sr-only">Inputs of v{resolved}, from its signature</legend>
            {fields.map((f) => (
              <label key={f.key}>
                {f.key} <small>{f.hint}</small>
                {f.kind === "boolean" ? (
                  <select value={valueOf(f)} onChange={(e) => setValues({ ...values, [`${resolved}/${f.key}`]: e.currentTarget.value })}>
                    <option value="true">true</option>
                    <option value="false">false</option>
                  </select>
                ) : f.kind === "text" ? (
                  <input type="text" required={f.required} value={valueOf(f)} onInput={(e) => setValues({ ...values, [`${resolved}/${f.key}`]: e.currentTarget.value })} />
                ) : (
                  <input
                    type="number"
                    step={f.kind === "integer" ? "1" : "any"}
                    required={f.required}
                    value={valueOf(f)}
                    onInput={(e) => setValues({ ...values, [`${resolved}/${f.key}`]: e.currentTarget.value })}
                  />
                )}
              </label>
            ))}
          </fieldset>
        ) : signature || !resolved ? (
          <>
            <label for="try-inputs">Inputs</label>
            <textarea id="try-inputs" rows={6} class="mono" value={raw} onInput={(e) => setRaw(e.currentTarget.value)} aria-describedby="try-hint" />
            <p id="try-hint" class="muted">
              This version has no signature the console can turn into a form: feature name → list of values, one value per row.
            </p>
          </>
        ) : (
          <p aria-busy="true">Reading the version's signature…</p>
        )}
        <label class="check">
          <input type="checkbox" checked={probabilities} onChange={(e) => setProbabilities(e.currentTarget.checked)} /> Return probabilities
        </label>
        <div class="row">
          <button type="submit">Predict</button>
        </div>
        {problem ? (
          <p class="error" role="alert">
            {problem}
          </p>
        ) : null}
      </form>
      {answer ? (
        <div class="scroll-x" role="status">
          <table data-testid="predictions">
            <caption>
              Answer of v{answer.model_version} in {answer.inference_time_ms.toFixed(1)} ms
            </caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Prediction</th>
                {answer.probabilities ? <th scope="col">Probabilities</th> : null}
              </tr>
            </thead>
            <tbody>
              {answer.predictions.map((p, i) => (
                <tr key={i}>
                  <th scope="row">{i + 1}</th>
                  <td>{JSON.stringify(p)}</td>
                  {answer.probabilities ? <td>{answer.probabilities[i]?.map((x) => x.toFixed(3)).join(", ")}</td> : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
