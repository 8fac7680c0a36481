import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import type { z } from "zod";
import { BusError, validationError } from "./errors.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Checks `value` against `schema`; the parsed value is what goes on the wire. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(what, result.error);
  return result.data;
}

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses a message body as UTF-8 JSON; BAD_REQUEST when it is not. */
export function decodeJson(data: Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = decoder.decode(data);
  } catch (err) {
    throw new BusError("BAD_REQUEST", `${what} is not UTF-8`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BusError("BAD_REQUEST", `${what} is not JSON`, { cause: err });
  }
}

/** Message headers as a plain record (first value of a repeated header). */
export function headersToRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const key of h.keys()) out[key] = h.get(key);
  return out;
}

export function recordToHeaders(record: Record<string, string> | undefined): MsgHdrs | undefined {
  if (!record || Object.keys(record).length === 0) return undefined;
  const h = natsHeaders();
  for (const [key, value] of Object.entries(record)) h.set(key, value);
  return h;
}
