import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import os from "node:os";

/** The fields every benchmark result carries; `ratio` > 1 means ours is better. */
export interface BenchResult {
  name: string;
  ours: number;
  baseline: number;
  ratio: number;
  unit: string;
  notes: string;
  [detail: string]: unknown;
}

export async function writeResult(result: BenchResult): Promise<string> {
  const dir = join(process.cwd(), "bench", "results");
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${result.name}.json`);
  const machine = { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? "unknown", memory_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  await writeFile(file, `${JSON.stringify({ ...result, machine, measured_at: new Date().toISOString() }, null, 2)}\n`);
  return file;
}
