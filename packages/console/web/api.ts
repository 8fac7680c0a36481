import { apiKey, markKeyNeeded } from "./session.js";

/** One field problem of a 4xx body, as the API names it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** A non-2xx answer: the API's message (which says what to fix) and its field issues. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey();
  return { accept: "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

/** Calls the API with the session's key; a 401 makes the shell ask for one. */
export async function request(method: string, path: string, init: { body?: unknown; signal?: AbortSignal; accept?: string } = {}): Promise<Response> {
  const res = await fetch(path, {
    method,
    headers: headers({
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...(init.accept ? { accept: init.accept } : {}),
    }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    ...(init.signal ? { signal: init.signal } : {}),
    credentials: "omit",
    cache: "no-store",
  });
  if (res.ok) return res;
  if (res.status === 401) markKeyNeeded();
  let message = `${method} ${path} answered ${res.status}`;
  let issues: FieldIssue[] = [];
  try {
    const body = (await res.json()) as { message?: string; issues?: FieldIssue[] };
    if (typeof body.message === "string") message = body.message;
    if (Array.isArray(body.issues)) issues = body.issues;
  } catch {
    // Not JSON (a proxy's page): the status line is all there is.
  }
  throw new ApiError(res.status, message, issues);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await request("GET", path, signal ? { signal } : {});
  return (await res.json()) as T;
}

export async function sendJson<T>(method: string, path: string, body?: unknown): Promise<T | null> {
  const res = await request(method, path, body === undefined ? {} : { body });
  return res.status === 204 ? null : ((await res.json()) as T);
}

/** Path segment, escaped. */
export const seg = (s: string) => encodeURIComponent(s);
