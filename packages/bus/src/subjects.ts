import { BusError } from "./errors.js";

/** True when the subject contains a `*` or `>` token. */
export function hasWildcards(subject: string): boolean {
  return subject.split(".").some((t) => t === "*" || t === ">");
}

/** True when the subject is well formed: non-empty tokens, no spaces, `>` only last. */
export function isValidSubject(subject: string): boolean {
  if (subject.length === 0 || /\s/.test(subject)) return false;
  const tokens = subject.split(".");
  return tokens.every((t, i) => t.length > 0 && (t !== ">" || i === tokens.length - 1));
}

/**
 * True when every subject matched by `subject` (itself literal or a pattern) is also matched
 * by `pattern`, following NATS rules: `*` is one token, `>` one or more trailing tokens.
 * For a literal subject this is plain matching.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const pt = p[i];
    const st = s[i];
    if (pt === ">") return st !== undefined;
    if (st === undefined) return false;
    if (st === ">") return false;
    if (pt === "*") continue;
    if (st === "*" || pt !== st) return false;
  }
  return s.length === p.length;
}

/**
 * The concrete subject to publish on: `given` or else the definition's subject. A definition
 * with wildcards (a subject family) needs a `given` subject inside the family.
 */
export function resolvePublishSubject(declared: string, given: string | undefined): string {
  if (given === undefined) {
    if (hasWildcards(declared)) {
      throw new BusError("BAD_REQUEST", `subject ${declared} is a pattern: pass a concrete subject in opts.subject`);
    }
    return declared;
  }
  if (!isValidSubject(given) || hasWildcards(given)) {
    throw new BusError("BAD_REQUEST", `cannot publish on ${JSON.stringify(given)}: not a concrete subject`);
  }
  if (!subjectMatches(declared, given)) {
    throw new BusError("BAD_REQUEST", `subject ${given} is outside the declared ${declared}`);
  }
  return given;
}

/**
 * The subject to subscribe to: `given` (which may be a narrower pattern) or else the declared one.
 */
export function resolveSubscribeSubject(declared: string, given: string | undefined): string {
  if (given === undefined) return declared;
  if (!isValidSubject(given)) {
    throw new BusError("BAD_REQUEST", `cannot subscribe to ${JSON.stringify(given)}: not a valid subject`);
  }
  if (!subjectMatches(declared, given)) {
    throw new BusError("BAD_REQUEST", `subject ${given} is outside the declared ${declared}`);
  }
  return given;
}
