import { readSse as readSseBody, type SseEvent } from "@asgard/contracts/sse";
import { request } from "./api.js";

/**
 * Reads a Server-Sent Events route with `fetch()`: unlike EventSource it sends the API key
 * header. Calls `onEvent` per event until the server ends the stream or `signal` aborts.
 */
export async function readSse(path: string, signal: AbortSignal, onEvent: (e: SseEvent) => void): Promise<void> {
  const res = await request("GET", path, { signal, accept: "text/event-stream" });
  if (!res.body) return;
  for await (const event of readSseBody(res.body, signal)) onEvent(event);
}
