import { satisfies, valid } from "@renovatebot/pep440";

/**
 * Whether an env's resolved set (name → exact version) satisfies requirements, judged with a
 * real PEP 440 implementation (`@renovatebot/pep440`, a port of Python's `packaging`) — the one
 * way this package compares versions.
 *
 * Requirements come in the canonical form of `normalizeRequirements` (`name[extras]spec,spec;
 * marker`). The check is conservative: a requirement with extras or an environment marker is
 * never taken as satisfied (what an extra pulls in, or whether a marker holds, is not recorded
 * with the env), so such a request simply gets an env of its own.
 */
export function unsatisfied(requirements: readonly string[], installed: Readonly<Record<string, string>>): string[] {
  const missing: string[] = [];
  for (const requirement of requirements) {
    if (!satisfiedBy(requirement, installed)) missing.push(requirement);
  }
  return missing;
}

const CANONICAL = /^([a-z0-9][a-z0-9-]*)(\[[^\]]*\])?([^;]*)(;.*)?$/;

function satisfiedBy(requirement: string, installed: Readonly<Record<string, string>>): boolean {
  const m = CANONICAL.exec(requirement);
  if (!m) return false;
  const [, name, extras, specs, marker] = m;
  if (extras !== undefined || marker !== undefined) return false;
  const version = installed[name as string];
  if (version === undefined || valid(version) === null) return false;
  const specifier = (specs ?? "").trim();
  if (specifier === "") return true;
  // An installed pre-release satisfies a range it falls in (pip's rule for what is already installed).
  return satisfies(version, specifier, { prereleases: true });
}
