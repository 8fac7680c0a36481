import { hasWildcards, isValidSubject, subjectMatches } from "@asgard/contracts";
import { BusError } from "./errors.js";

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
