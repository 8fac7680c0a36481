import { request } from "undici";

/**
 * One HTTP call with undici's plain request, the client both sides of a peer comparison are
 * measured with. Node's fetch is avoided on purpose: it sends `Sec-Fetch-Mode`, which Ray's
 * dashboard takes for a browser and refuses on writes.
 */
export async function call(
  method: "GET" | "POST" | "PUT",
  url: string,
  body?: string | Buffer,
): Promise<{ status: number; text: string }> {
  const res = await request(url, {
    method,
    ...(body === undefined ? {} : { body, headers: typeof body === "string" ? { "content-type": "application/json" } : {} }),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** A JSON answer with the expected status, or an error naming the call and the answer. */
export async function callJson<T>(method: "GET" | "POST" | "PUT", url: string, body?: unknown, expect = 200): Promise<T> {
  const res = await call(method, url, body === undefined ? undefined : JSON.stringify(body));
  if (res.status !== expect) throw new Error(`${method} ${url} answered ${res.status}: ${res.text.slice(0, 2000)}`);
  return JSON.parse(res.text) as T;
}
