import { chmodSync, chownSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { Pool, type Dispatcher } from "undici";

/** The header with which MLflow (`--enable-workspaces`) scopes a request to one workspace. */
export const WORKSPACE_HEADER = "x-mlflow-workspace";

/** MLflow's own rule for workspace names (`WorkspaceNameValidator`), plus its `default`. */
const WORKSPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The workspace-management API (`/api/3.0/mlflow/workspaces…`, also under `/ajax-api`). */
const WORKSPACES_API = /^\/(?:ajax-)?api\/[^/]+\/mlflow\/workspaces(?:\/(.*))?$/i;
/**
 * The basic-auth app's account and grant APIs (users, their passwords, roles, permissions)
 * and its sign-up page: a job acts as its tenant's MLflow user through this proxy and must
 * not change that user's password or grants, which would leave it a credential of its own.
 */
const ACCOUNTS_API = /^\/(?:(?:ajax-)?api\/[^/]+\/mlflow\/(?:users|roles|permissions)(?:\/.*)?|signup|(?:ajax-)?api\/[^/]+\/mlflow\/[^/]+\/permissions(?:\/.*)?)$/i;

/**
 * Request headers never passed on: hop-by-hop ones (RFC 9110 §7.6.1), which undici sets
 * itself; `host`, which must name MLflow (its `--allowed-hosts` check) not the sandbox's
 * address; and `forwarded`, with which a script could pose as someone else to MLflow.
 */
const DROPPED_REQUEST_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "host",
  "forwarded",
  WORKSPACE_HEADER,
]);

const DROPPED_RESPONSE_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * A script may wait on MLflow as long as its own client lets it; the proxy only drops a
 * connection that has been silent this long.
 */
const UPSTREAM_IDLE_MS = 10 * 60_000;
/** The sandbox's client pool (requests keeps 10) and a few artifact uploads in parallel. */
const MAX_CONNECTIONS = 64;

export interface MlflowProxyOptions {
  /**
   * The real tracking server, `http(s)://host[:port][/prefix]`. It must not carry
   * credentials: those are `credentials`.
   */
  upstream: string;
  /** The MLflow workspace (the tenant) every request is scoped to. */
  workspace: string;
  /**
   * The tenant's MLflow user (a server with basic auth): every request carries it, in place of
   * any Authorization the script sends, so the script never holds the password and MLflow
   * itself limits it to its tenant. Omitted: the script's own headers pass unchanged.
   */
  credentials?: { username: string; password: string };
  /** Where to listen; its directory must exist. */
  socketPath: string;
  /** Owner of the socket, when the runner is root: only the sandbox's uid may connect. */
  owner?: { uid: number; gid: number };
}

export interface MlflowProxy {
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}

/** Why a request is not forwarded, or null when it is. */
export interface Refusal {
  status: 400 | 403;
  errorCode: "BAD_REQUEST" | "PERMISSION_DENIED";
  message: string;
}

/** Throws unless `name` is a workspace MLflow would accept in the header. */
export function assertWorkspaceName(name: string): void {
  if (name !== "default" && !(WORKSPACE_NAME.test(name) && name.length >= 2)) {
    throw new TypeError(`MLflow workspace must be "default" or 2-63 lowercase letters, digits and inner hyphens, got ${JSON.stringify(name)}`);
  }
}

/**
 * Decides on a request line before anything is forwarded. The path is checked as MLflow
 * will route it (percent-decoded), and a path that routes ambiguously — dot segments,
 * doubled or encoded slashes — is refused rather than normalised differently from MLflow.
 */
export function refusalFor(method: string, url: string, workspace: string): Refusal | null {
  if (!url.startsWith("/")) {
    return { status: 400, errorCode: "BAD_REQUEST", message: "request target must be a path (origin form), not an absolute URL" };
  }
  const rawPath = url.split("?", 1)[0] as string;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { status: 400, errorCode: "BAD_REQUEST", message: "request path is not valid percent-encoding" };
  }
  if (/%2f|%5c/i.test(rawPath) || path.includes("\0") || path.includes("//") || path.split("/").some((s) => s === "." || s === "..")) {
    return { status: 400, errorCode: "BAD_REQUEST", message: "request path must be normalized (no '.', '..', '//' or encoded slashes)" };
  }
  if (ACCOUNTS_API.test(path)) {
    return { status: 403, errorCode: "PERMISSION_DENIED", message: "MLflow's user, role and permission APIs are not available to jobs" };
  }
  const workspaces = WORKSPACES_API.exec(path);
  if (workspaces === null) return null;
  const readsOwn = (method === "GET" || method === "HEAD") && workspaces[1] === workspace;
  if (readsOwn) return null;
  return {
    status: 403,
    errorCode: "PERMISSION_DENIED",
    message: `the workspace API is not available to jobs; this job's workspace is ${workspace}`,
  };
}

/**
 * The headers MLflow receives: the script's own, minus hop-by-hop ones, scoped to `workspace`
 * and, given `authorization`, carrying it instead of the script's.
 */
export function forwardedHeaders(headers: IncomingHttpHeaders, workspace: string, authorization?: string): Record<string, string | string[]> {
  const connectionListed = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s.length > 0),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    // Servers that map headers to CGI/WSGI variables read X_MLFLOW_WORKSPACE as
    // X-MLFLOW-WORKSPACE; underscores in names are dropped, as nginx does by default.
    if (name.includes("_") || DROPPED_REQUEST_HEADERS.has(name) || connectionListed.has(name) || name.startsWith("x-forwarded-")) continue;
    out[name] = value;
  }
  out[WORKSPACE_HEADER] = workspace;
  if (authorization !== undefined) out.authorization = authorization;
  return out;
}

/**
 * Serves MLflow to one sandbox on a Unix socket: forwards every request to `upstream` with
 * the tenant's workspace header, whatever the script sent, streams bodies both ways (an
 * artifact of any size passes through a fixed amount of memory), and refuses the
 * workspace-management API.
 */
export async function startMlflowProxy(opts: MlflowProxyOptions): Promise<MlflowProxy> {
  assertWorkspaceName(opts.workspace);
  const upstream = parseUpstream(opts.upstream);
  const authorization = opts.credentials
    ? `Basic ${Buffer.from(`${opts.credentials.username}:${opts.credentials.password}`).toString("base64")}`
    : undefined;
  const pool = new Pool(upstream.origin, {
    connections: 16,
    // uvicorn drops idle connections after 5 s; closing ours first avoids reusing a dying socket.
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 4_000,
    headersTimeout: UPSTREAM_IDLE_MS,
    bodyTimeout: UPSTREAM_IDLE_MS,
  });
  // Uploads of hundreds of MB over a slow sandbox take long; the script's own client decides.
  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 }, (req, res) => {
    void handle(req, res, upstream.prefix, opts.workspace, authorization, pool);
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
  try {
    if (opts.owner) chownSync(opts.socketPath, opts.owner.uid, opts.owner.gid);
    chmodSync(opts.socketPath, 0o600);
  } catch (err) {
    server.close();
    await pool.destroy();
    throw err;
  }
  return {
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await pool.destroy();
    },
  };
}

function parseUpstream(text: string): { origin: string; prefix: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`mlflow.url must be an http(s) URL, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`mlflow.url must be http(s), got ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError("mlflow.url must not carry credentials: pass the tenant's as mlflow.credentials");
  }
  if (url.search !== "" || url.hash !== "") throw new TypeError("mlflow.url must not have a query or fragment");
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, "") };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  prefix: string,
  workspace: string,
  authorization: string | undefined,
  pool: Pool,
): Promise<void> {
  const url = req.url ?? "";
  const method = req.method ?? "GET";
  const refusal = refusalFor(method, url, workspace);
  if (refusal !== null) {
    req.resume();
    sendJson(res, refusal.status, { error_code: refusal.errorCode, message: refusal.message });
    return;
  }
  const hasBody = req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    const answer = await pool.request({
      path: `${prefix}${url}`,
      method: method as Dispatcher.HttpMethod,
      headers: forwardedHeaders(req.headers, workspace, authorization),
      body: hasBody ? req : null,
      signal: abort.signal,
    });
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) headers[name] = value;
    }
    res.writeHead(answer.statusCode, headers);
    await pipeline(answer.body, res);
  } catch {
    if (abort.signal.aborted) return;
    if (!res.headersSent) {
      // MLflow's client retries a 502 the way it retries a refused connection.
      sendJson(res, 502, { error_code: "TEMPORARILY_UNAVAILABLE", message: "MLflow did not answer the sandbox's request" });
    } else {
      res.destroy();
    }
  }
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
