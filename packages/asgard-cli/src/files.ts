import { readFile } from "node:fs/promises";
import { UsageError } from "./errors.js";

/** Reads a file the user named, or stdin for `-`; a missing file is a usage error naming it. */
export async function readInput(path: string, stdin: NodeJS.ReadableStream, what: string): Promise<Buffer> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : String(code);
    throw new UsageError(`cannot read the ${what} ${path}: ${why}`);
  }
}

/**
 * The requirement lines of a requirements.txt: comments and blank lines dropped. Options
 * (`-r`, `--index-url`, …) are passed on as written, so the API's 422 names them.
 */
export function requirementLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter((line) => line !== "");
}

/** `K=V` pairs (repeated flags) as an object; the API checks the names. */
export function keyValues(pairs: string[], flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag} takes NAME=VALUE (got "${pair}"), e.g. ${flag} EPOCHS=10`);
    result[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return result;
}

/** Commander's collector for repeatable options. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} takes a whole number above 0 (got "${value}")`);
    return Number(value);
  };
}
