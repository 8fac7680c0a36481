import { isAbsolute, relative, resolve, sep } from "node:path";

/**
 * `root` joined with `path` (slash-separated, relative), or an error when the result would
 * not lie strictly inside `root`: `..` segments, an absolute path or an empty one. Every file
 * the platform writes under a name that came from outside (a job's script name, a model's
 * artifact paths) goes through here, whatever checks the name passed before.
 */
export function safeJoin(root: string, path: string): string {
  const base = resolve(root);
  if (path === "" || isAbsolute(path) || path.includes("\0")) throw new RangeError(`${JSON.stringify(path)} is not a relative path below ${base}`);
  const joined = resolve(base, ...path.split("/"));
  const inside = relative(base, joined);
  if (inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new RangeError(`${JSON.stringify(path)} leaves ${base}`);
  }
  return joined;
}
