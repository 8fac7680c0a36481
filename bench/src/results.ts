import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { TOOL_VERSIONS, pythonExecutable } from "@asgard/tools";
import type { Spread } from "./spread.js";

/**
 * The fields every benchmark result carries; `ratio` > 1 means ours is better. `ours` and
 * `baseline` are the medians of the headline figure, which is the worst of the loads the
 * benchmark defines; `ours_spread`/`baseline_spread` hold its runs, min and max.
 */
export interface BenchResult {
  name: string;
  ours: number;
  baseline: number;
  ratio: number;
  unit: string;
  notes: string;
  /** How many times each figure was measured. */
  runs: number;
  ours_spread: Spread;
  baseline_spread: Spread;
  /** The load generator and its settings, for benchmarks that drive HTTP load. */
  load_generator?: Record<string, unknown>;
  [detail: string]: unknown;
}

/** Where the results live; the docs' tables are generated from these files. */
export const resultsDir = () => join(process.cwd(), "bench", "results");

function pythonVersion(): string {
  try {
    return execFileSync(pythonExecutable(), ["--version"], { encoding: "utf8" }).trim().replace(/^Python /, "");
  } catch {
    return "unknown";
  }
}

/** The machine and tool versions a figure was measured on, recorded in every result. */
export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    load_average_at_write: loadNow(),
  };
}

/** The 1, 5 and 15 min load averages now: benches record them when their measured runs begin. */
export const loadNow = (): number[] => os.loadavg().map((l) => Math.round(l * 100) / 100);

export function toolVersions(): Record<string, string> {
  return { node: process.version, python: pythonVersion(), ...TOOL_VERSIONS };
}

export async function writeResult(result: BenchResult): Promise<string> {
  if (result.runs < 3) throw new Error(`${result.name}: every figure needs at least 3 runs (got ${result.runs})`);
  // A run without a figure (no answer at all) becomes NaN, which JSON writes as null: refuse it.
  const headline = [result.ours, result.baseline, result.ratio, ...result.ours_spread.runs, ...result.baseline_spread.runs];
  if (!headline.every(Number.isFinite)) throw new Error(`${result.name}: a headline figure is not a number: ${JSON.stringify(headline)}`);
  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${result.name}.json`);
  const full = { ...result, machine: machine(), tools: toolVersions(), measured_at: new Date().toISOString() };
  await writeFile(file, `${JSON.stringify(full, null, 2)}\n`);
  return file;
}
