/**
 * A line of job output as it can be stored and shown. Job output is the job's to shape, so
 * what cannot be stored is repaired rather than refused (a refused line would fail its whole
 * batch on every redelivery):
 * - NUL is dropped: PostgreSQL text columns refuse it;
 * - a lone UTF-16 surrogate (what invalid UTF-8 or a `\ud800` JSON escape decodes to) becomes
 *   U+FFFD, the replacement character, as broken UTF-8 sequences already do when decoded.
 * Applied by the job-log schema (`JobLogSchema`), so producers and consumers share it.
 */
export function sanitizeLogText(text: string): string {
  const withoutNul = text.includes("\0") ? text.replaceAll("\0", "") : text;
  return LONE_SURROGATE.test(withoutNul) ? withoutNul.replace(LONE_SURROGATE_ALL, "\uFFFD") : withoutNul;
}

const LONE = "[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]";
const LONE_SURROGATE = new RegExp(LONE);
const LONE_SURROGATE_ALL = new RegExp(LONE, "g");
