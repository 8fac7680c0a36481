import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { useLocation } from "./router.js";
import { setApiKey, useSession } from "./session.js";
import { Overview } from "./pages/overview.js";
import { Jobs } from "./pages/jobs.js";
import { JobPage } from "./pages/job.js";
import { NewJob } from "./pages/new-job.js";
import { Models } from "./pages/models.js";
import { ModelPage } from "./pages/model.js";

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/jobs", label: "Jobs" },
  { href: "/new", label: "New job" },
  { href: "/models", label: "Models" },
];

function page(path: string) {
  const job = /^\/jobs\/([^/]+)\/?$/.exec(path);
  if (job?.[1]) return { title: "Job", node: <JobPage jobId={decodeURIComponent(job[1])} /> };
  const model = /^\/models\/([^/]+)\/?$/.exec(path);
  if (model?.[1]) return { title: "Model", node: <ModelPage name={decodeURIComponent(model[1])} /> };
  if (path === "/jobs" || path === "/jobs/") return { title: "Jobs", node: <Jobs /> };
  if (path === "/new") return { title: "New job", node: <NewJob /> };
  if (path === "/models" || path === "/models/") return { title: "Models", node: <Models /> };
  if (path === "/") return { title: "Overview", node: <Overview /> };
  return { title: "Not found", node: <p>No page here. <a href="/">Go to the overview</a>.</p> };
}

export function App() {
  const { path } = useLocation();
  const session = useSession();
  const { title, node } = page(path);
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    document.title = `${title} · Asgard`;
  }, [title]);
  // After a navigation, focus moves to the page so keyboard and screen-reader users start there.
  useEffect(() => main.current?.focus({ preventScroll: true }), [path]);
  const current = (href: string) => (href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`));
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">Asgard</span>
        <nav aria-label="Main">
          {NAV.map((n) => (
            <a key={n.href} href={n.href} aria-current={current(n.href) ? "page" : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        {session.key ? (
          <button type="button" class="link" onClick={() => setApiKey(null)}>
            Forget key
          </button>
        ) : null}
        <a href="/docs">API docs</a>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {session.needed ? <KeyPrompt /> : null}
        {/* A new key remounts the page, so it loads again at once with the key. */}
        <Fragment key={session.key ?? ""}>{node}</Fragment>
      </main>
    </>
  );
}

/** Shown when the gateway answered 401: keys are on and this tab has none (or a bad one). */
function KeyPrompt() {
  const [value, setValue] = useState("");
  return (
    <form
      class="card key"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) setApiKey(value.trim());
      }}
    >
      <h2>API key needed</h2>
      <p>
        This gateway serves its API to key holders. Paste your key (<code>asg_…</code>); it stays in this tab only and is sent as an{" "}
        <code>Authorization</code> header.
      </p>
      <label for="api-key">API key</label>
      <div class="row">
        <input id="api-key" type="password" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <button type="submit">Use key</button>
      </div>
    </form>
  );
}
