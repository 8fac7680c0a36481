import { inspect } from "node:util";

const MASK = "***";
/** Query parameters that libpq and pg accept as secrets inside a connection URL. */
const SECRET_PARAMS = ["password", "sslpassword"];

/**
 * The URL with its password masked, for logs and error messages:
 * `postgres://app:s3cret@db:5432/asgard` → `postgres://app:***@db:5432/asgard`.
 * Also masks `password`/`sslpassword` query parameters. Input that is not a URL is masked
 * with patterns instead of being echoed.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url
      .replace(/(\/\/[^/@:]*:)[^@]*@/, `$1${MASK}@`)
      .replace(/\b((?:ssl)?password=)[^&\s]*/gi, `$1${MASK}`);
  }
  if (parsed.password) parsed.password = MASK;
  for (const name of SECRET_PARAMS) {
    if (parsed.searchParams.has(name)) parsed.searchParams.set(name, MASK);
  }
  // URLSearchParams percent-encodes the mask; keep it readable.
  return parsed.toString().replaceAll(encodeURIComponent(MASK), MASK);
}

/** The secrets held by a connection URL, in every spelling an error message might use. */
export function urlSecrets(url: string): string[] {
  const secrets = new Set<string>();
  const add = (value: string): void => {
    if (!value) return;
    secrets.add(value);
    try {
      secrets.add(decodeURIComponent(value));
    } catch {
      // Not percent-encoded: the raw spelling is already recorded.
    }
  };
  try {
    const parsed = new URL(url);
    add(parsed.password);
    for (const name of SECRET_PARAMS) add(parsed.searchParams.get(name) ?? "");
  } catch {
    const match = /\/\/[^/@:]*:([^@]*)@/.exec(url);
    if (match?.[1]) add(match[1]);
  }
  // The whole URL first, so it is replaced by its redacted form rather than cut up.
  return [url, ...[...secrets].sort((a, b) => b.length - a.length)];
}

/** `text` with every secret of `url` masked. */
export function redactText(text: string, url: string): string {
  const [whole, ...secrets] = urlSecrets(url);
  let out = whole ? text.replaceAll(whole, redactUrl(url)) : text;
  for (const secret of secrets) out = out.replaceAll(secret, MASK);
  return out;
}

/**
 * `err` itself when nothing of it mentions a secret of `url`, otherwise a plain copy with a
 * masked message and the same `code`. Inspecting matters because Node errors carry extra
 * fields — a URL parse error holds the whole input in `input`.
 */
export function sanitizeError(err: unknown, url: string): unknown {
  const [, ...secrets] = urlSecrets(url);
  const printed = inspect(err, { depth: 4 });
  if (!secrets.some((s) => printed.includes(s)) && !printed.includes(url)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const copy = new Error(redactText(message, url));
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") Object.assign(copy, { code });
  return copy;
}
