import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { Pool, request, type Dispatcher } from "undici";
import type { z } from "zod";
import {
  MlflowError,
  MlflowResponseError,
  errorFromResponse,
  unavailableError,
  unavailableReasonOf,
  type MlflowOperation,
} from "./errors.js";

/** Per-call options every client method accepts. */
export interface CallOptions {
  /** Bound on the whole call (connect, headers and body), ms. Defaults to the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Cancels the call; the call then rejects with the signal's reason, as `fetch` does. */
  signal?: AbortSignal;
}

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE" | "PUT";

type QueryValue = string | number | boolean | readonly string[] | undefined | null;

/** One HTTP exchange with MLflow, relative to the client's base URL. */
export interface RequestSpec {
  method: HttpMethod;
  /** Path below the base URL, starting with `/`. */
  path: string;
  /** Query parameters; arrays repeat the key (MLflow's `order_by`), undefined/null are left out. */
  query?: Record<string, QueryValue>;
  /** A JSON body. */
  json?: unknown;
  /** A raw body (artifact uploads). */
  body?: Uint8Array | string;
}

/** An answer of any status. `body` is read completely (bounded by `maxBytes`). */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  elapsedMs: number;
  operation: MlflowOperation;
}

/** The undici transport the API modules share. */
export interface Transport {
  /** `scheme://host:port` of MLflow, without credentials; safe to log. */
  readonly origin: string;
  /** The default per-call timeout, ms. */
  readonly timeoutMs: number;
  /** Sends one request; rejects only when no HTTP answer arrived (MlflowUnavailableError). */
  send(spec: RequestSpec, call?: CallOptions, limits?: { maxBytes?: number }): Promise<RawResponse>;
  /** Sends one request and parses a 2xx JSON answer with `schema`; a non-2xx answer becomes an MlflowError. */
  call<S extends z.ZodType>(spec: RequestSpec, schema: S, call?: CallOptions): Promise<z.output<S>>;
  /**
   * The same transport (same connection pool) sending `extra` headers on every call as well;
   * closing it leaves the pool to this transport.
   */
  withHeaders(extra: Record<string, string>): Transport;
  close(): Promise<void>;
}

export interface TransportOptions {
  baseUrl: string;
  timeoutMs: number;
  headers: Record<string, string>;
  dispatcher?: Dispatcher;
}

/** JSON answers of MLflow are small; this only stops a runaway body from filling memory. */
const MAX_JSON_BYTES = 32 * 1024 * 1024;

export function createTransport(opts: TransportOptions): Transport {
  const url = new URL(opts.baseUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new MlflowError("INTERNAL", `MLflow base URL must be http(s), got ${url.protocol}`);
  }
  checkTimeout(opts.timeoutMs);
  const baseHeaders = headersWithCredentials(opts.headers, url);
  const origin = url.origin;
  const prefix = url.pathname.replace(/\/+$/, "");
  const ownsDispatcher = opts.dispatcher === undefined;
  // uvicorn drops idle connections after 5 s; closing ours first avoids reusing a dying socket.
  const dispatcher = opts.dispatcher ?? new Pool(origin, { connections: 16, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 4_000 });
  let closed = false;

  const over = (headers: Record<string, string>, owner: boolean): Transport => {
    async function send(spec: RequestSpec, call: CallOptions = {}, limits: { maxBytes?: number } = {}): Promise<RawResponse> {
      const path = `${prefix}${spec.path}${queryString(spec.query)}`;
      const operation: MlflowOperation = { method: spec.method, path };
      if (closed) throw new MlflowError("INTERNAL", `MLflow client is closed (${spec.method} ${path})`, { operation });
      call.signal?.throwIfAborted();

      const timeoutMs = call.timeoutMs ?? opts.timeoutMs;
      checkTimeout(timeoutMs);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
      const requestHeaders: Record<string, string> = { ...headers, accept: "application/json" };
      let body: string | Uint8Array | undefined;
      if (spec.json !== undefined) {
        requestHeaders["content-type"] = "application/json";
        body = JSON.stringify(spec.json);
      } else if (spec.body !== undefined) {
        requestHeaders["content-type"] = "application/octet-stream";
        body = spec.body;
      }

      const started = performance.now();
      try {
        const res = await request(`${origin}${path}`, {
          method: spec.method,
          headers: requestHeaders,
          body,
          dispatcher,
          signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        const maxBytes = limits.maxBytes ?? MAX_JSON_BYTES;
        const data = await readAll(res.body, maxBytes, operation);
        return { status: res.statusCode, headers: res.headers, body: data, elapsedMs: performance.now() - started, operation };
      } catch (err) {
        if (err instanceof MlflowError) throw err;
        if (call.signal?.aborted && !timeout.aborted) throw call.signal.reason;
        const reason = timeout.aborted ? "timeout" : unavailableReasonOf(err);
        throw unavailableError(origin, operation, reason, performance.now() - started, timeoutMs, err);
      }
    }

    async function callJson<S extends z.ZodType>(spec: RequestSpec, schema: S, call?: CallOptions): Promise<z.output<S>> {
      const res = await send(spec, call);
      const text = res.body.toString("utf8");
      if (res.status < 200 || res.status >= 300) {
        throw errorFromResponse(res.operation, res.status, text, res.elapsedMs);
      }
      const where = `${res.operation.method} ${res.operation.path}`;
      let value: unknown;
      try {
        value = text.length === 0 ? {} : JSON.parse(text);
      } catch (err) {
        throw new MlflowResponseError(`MLflow answered ${where} with something that is not JSON`, {
          httpStatus: res.status,
          operation: res.operation,
          cause: err,
        });
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        const issues = parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
          .join("; ");
        throw new MlflowResponseError(`MLflow answered ${where} with an unexpected shape (${issues})`, {
          httpStatus: res.status,
          operation: res.operation,
          cause: parsed.error,
        });
      }
      return parsed.data;
    }

    return {
      origin,
      timeoutMs: opts.timeoutMs,
      send,
      call: callJson,
      withHeaders: (extra) => over({ ...headers, ...extra }, false),
      async close() {
        if (!owner || closed) return;
        closed = true;
        if (ownsDispatcher) await dispatcher.close();
      },
    };
  };
  return over(baseHeaders, true);
}

/** A zero, negative or NaN timeout would make every call fail at once or never be bounded. */
function checkTimeout(timeoutMs: number): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new MlflowError("INTERNAL", `MLflow call timeout must be a positive number of ms, got ${timeoutMs}`);
  }
}

/**
 * Credentials written into the base URL become a Basic Authorization header, so that
 * URLs in error messages and logs never carry them. An explicit Authorization header wins.
 */
function headersWithCredentials(extra: Record<string, string>, url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(extra)) out[key.toLowerCase()] = value;
  if ((url.username || url.password) && out.authorization === undefined) {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    out.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  }
  return out;
}

/** Builds `?a=1&b=x&b=y`; empty when nothing is set. */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function readAll(body: Readable, maxBytes: number, operation: MlflowOperation): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      body.destroy();
      throw new MlflowError(
        "PAYLOAD_TOO_LARGE",
        `MLflow's answer to ${operation.method} ${operation.path} exceeds ${maxBytes} bytes`,
        { operation },
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
