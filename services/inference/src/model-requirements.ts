import { checkRequirement } from "@asgard/contracts";

/**
 * Packages never taken from a model's requirements: every model environment gets MLflow at
 * the tracking server's own version as a platform pin (the worker loads models with it), and
 * a model logged with another MLflow would otherwise conflict with that pin.
 */
const PLATFORM_PACKAGES = new Set(["mlflow", "mlflow-skinny", "mlflow-tracing"]);

/** The requirement files MLflow logs next to a model's MLmodel, as text (absent: null). */
export interface RequirementFiles {
  requirementsTxt: string | null;
  condaYaml: string | null;
}

/** The requirements to build the model's environment from, or why the model cannot have one. */
export type ModelRequirements = { ok: true; requirements: string[]; from: string } | { ok: false; problem: string };

/**
 * Reads the model's own logged requirements: `requirements.txt` (what MLflow's virtualenv
 * manager uses), else the pip section of `conda.yaml`. Every entry must pass the same strict
 * PEP 508 check as user uploads — a model file is user input too, and a URL, a path or a pip
 * option (`-r`, `--index-url`) in it would otherwise reach the environment build.
 */
export function modelRequirements(files: RequirementFiles): ModelRequirements {
  if (files.requirementsTxt !== null) return check(requirementLines(files.requirementsTxt), "requirements.txt");
  if (files.condaYaml !== null) return check(condaPipEntries(files.condaYaml), "conda.yaml");
  return { ok: true, requirements: [], from: "none (the model logged no requirements)" };
}

function check(entries: { line: number; text: string }[], from: string): ModelRequirements {
  const problems: string[] = [];
  const requirements: string[] = [];
  for (const { line, text } of entries) {
    const result = checkRequirement(text);
    if (!result.ok) {
      problems.push(`${from} line ${line} (${JSON.stringify(text.slice(0, 80))}) ${result.problems.join("; ")}`);
      continue;
    }
    if (!PLATFORM_PACKAGES.has(result.requirement.normalizedName)) requirements.push(text.trim());
  }
  if (problems.length > 0) {
    return { ok: false, problem: `the model's requirements cannot be installed safely: ${problems.slice(0, 5).join("; ")}` };
  }
  return { ok: true, requirements, from };
}

/** Non-empty lines of a requirements file, comments removed (pip's rule: `#` at the start or after whitespace). */
export function requirementLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const stripped = raw.replace(/(^|\s)#.*$/, "").trim();
    if (stripped !== "") out.push({ line: i + 1, text: stripped });
  });
  return out;
}

/**
 * The entries of the `- pip:` list in a conda.yaml as MLflow writes it (block style, one
 * entry per line). Only that shape is read; anything else yields no entries.
 */
export function condaPipEntries(text: string): { line: number; text: string }[] {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^\s*-\s*pip\s*:\s*$/.test(l));
  if (start === -1) return [];
  const indentOf = (l: string) => l.length - l.trimStart().length;
  const pipIndent = indentOf(lines[start] as string);
  const out: { line: number; text: string }[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === "") continue;
    if (indentOf(line) <= pipIndent) break;
    const item = /^\s*-\s+(.*)$/.exec(line);
    if (!item) break;
    const value = (item[1] as string).trim().replace(/^(['"])(.*)\1$/, "$2");
    out.push({ line: i + 1, text: value });
  }
  return out;
}
