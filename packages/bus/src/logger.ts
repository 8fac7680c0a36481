import type { BusLogger } from "./types.js";

const write = (level: string) => (obj: object, msg?: string) => {
  const err = (obj as { err?: unknown }).err;
  const fields = err instanceof Error ? { ...obj, err: { name: err.name, message: err.message } } : obj;
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
};

/** Fallback when no logger is given: one JSON line per entry on stderr, errors by name and message. */
export const consoleLogger: BusLogger = { info: write("info"), warn: write("warn"), error: write("error") };
