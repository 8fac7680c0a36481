/**
 * NATS subject rules, and the subjects of catalog families. A family is declared once with
 * one `*` per varying token (`job.log.*`); its members are built here (`job.log.<job_id>`), so
 * no other file spells a subject.
 */

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

/** True when some subject is matched by both patterns (either may be literal). */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const xt = x[i];
    const yt = y[i];
    if (xt === ">" || yt === ">") return xt !== undefined && yt !== undefined;
    if (xt === undefined || yt === undefined) return false;
    if (xt !== "*" && yt !== "*" && xt !== yt) return false;
  }
  return true;
}

type Tokens<S extends string> = S extends `${infer Head}.${infer Rest}` ? [Head, ...Tokens<Rest>] : [S];
type StarsOf<T extends readonly string[]> = T extends [infer Head, ...infer Rest extends string[]]
  ? Head extends "*"
    ? [token: string, ...StarsOf<Rest>]
    : StarsOf<Rest>
  : [];
type Filled<T extends readonly string[]> = T extends [infer Head extends string, ...infer Rest extends string[]]
  ? Rest extends []
    ? Head extends "*" ? string : Head
    : `${Head extends "*" ? string : Head}.${Filled<Rest>}`
  : never;

/** The tokens a family's subject needs, one per `*`: `job.log.*` → `[token: string]`; none for a concrete subject. */
export type SubjectTokens<S extends string> = string extends S ? string[] : StarsOf<Tokens<S>>;

/** Every concrete subject of a pattern, as a type: `job.log.*` → `` `job.log.${string}` ``. */
export type ConcreteSubject<S extends string> = string extends S ? string : Filled<Tokens<S>>;

/** A token that can stand for a `*`: not empty, no dot, no wildcard, no whitespace. */
export function isSubjectToken(token: string): boolean {
  return token.length > 0 && token !== "*" && token !== ">" && !/[.\s]/.test(token);
}

/**
 * The concrete subject of a family member: each `*` of `def.subject` replaced, in order, by
 * the given tokens (`subjectOf(EVENTS.jobLog, jobId)` → `job.log.<jobId>`). A concrete
 * subject takes no tokens and comes back as it is. Throws a TypeError for a token that is no
 * single subject token (an id with a dot or a space would name another subject).
 */
export function subjectOf<D extends { readonly subject: string }>(def: D, ...tokens: SubjectTokens<D["subject"]>): ConcreteSubject<D["subject"]> {
  const parts = def.subject.split(".");
  if (parts.includes(">")) throw new TypeError(`${def.subject} ends in '>': declare families with one '*' per varying token`);
  const stars = parts.filter((t) => t === "*").length;
  const given: readonly string[] = tokens;
  if (given.length !== stars) throw new TypeError(`${def.subject} takes ${stars} token(s), got ${given.length}`);
  let next = 0;
  const filled = parts.map((t) => {
    if (t !== "*") return t;
    const token = given[next++] as string;
    if (!isSubjectToken(token)) throw new TypeError(`${JSON.stringify(token)} is not a single subject token for ${def.subject}`);
    return token;
  });
  return filled.join(".") as ConcreteSubject<D["subject"]>;
}


/**
 * The name of the event (or signal) whose subject or family takes in `subject`, or null when
 * none does. Names are tried in declaration order; the catalog test keeps one consumer's
 * events from overlapping, so at most one matches there.
 */
export function nameForSubject<M extends Readonly<Record<string, { readonly subject: string }>>>(
  defs: M,
  subject: string,
): (keyof M & string) | null {
  for (const [name, def] of Object.entries(defs)) {
    if (subjectMatches(def.subject, subject)) return name as keyof M & string;
  }
  return null;
}
