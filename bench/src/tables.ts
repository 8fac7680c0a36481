import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/**
 * The docs quote benchmark figures only through this table, generated from the committed
 * result files (a test keeps every copy in step), never by hand.
 */
export const TABLE_START = "<!-- bench-table:start -->";
export const TABLE_END = "<!-- bench-table:end -->";
/** The documents that carry the table. */
export const DOCUMENTS = ["README.md", join("docs", "operations.md")];

const SpreadSchema = z.object({ median: z.number(), min: z.number(), max: z.number(), runs: z.array(z.number()) });
const ResultSchema = z.looseObject({
  name: z.string(),
  ours: z.number(),
  baseline: z.number(),
  ratio: z.number(),
  unit: z.string(),
  runs: z.number().optional(),
  ours_spread: SpreadSchema.optional(),
  baseline_spread: SpreadSchema.optional(),
  measured_at: z.string().optional(),
});
type ResultFile = z.infer<typeof ResultSchema>;

export async function readResults(root: string): Promise<ResultFile[]> {
  const dir = join(root, "bench", "results");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  return Promise.all(files.map(async (f) => ResultSchema.parse(JSON.parse(await readFile(join(dir, f), "utf8")))));
}

const num = (n: number) => (Number.isInteger(n) ? n.toLocaleString("en-US") : String(n));

function figure(value: number, spread: z.infer<typeof SpreadSchema> | undefined): string {
  return spread ? `${num(spread.median)} (${num(spread.min)}–${num(spread.max)})` : `${num(value)}`;
}

export function renderBenchTable(results: ResultFile[]): string {
  const rows = results.map((r) => {
    const runs = r.runs ?? 1;
    const when = r.measured_at?.slice(0, 10) ?? "";
    return `| \`${r.name}\` | ${figure(r.ours, r.ours_spread)} | ${figure(r.baseline, r.baseline_spread)} | ${r.ratio} | ${r.unit} | ${runs === 1 ? "1 (no spread)" : runs} | ${when} |`;
  });
  return [
    "| benchmark | ours: median (min–max) | baseline: median (min–max) | ratio (> 1: ours better) | unit | runs | measured |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** The text between the markers of a document, or null when it has none. */
export function tableIn(text: string): string | null {
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END);
  return start < 0 || end < start ? null : text.slice(start + TABLE_START.length, end).trim();
}

/** Rewrites the table in every document from the result files. */
export async function writeTables(root: string): Promise<void> {
  const table = renderBenchTable(await readResults(root));
  for (const doc of DOCUMENTS) {
    const path = join(root, doc);
    const text = await readFile(path, "utf8");
    if (tableIn(text) === null) throw new Error(`${doc} has no ${TABLE_START} … ${TABLE_END} section`);
    const start = text.indexOf(TABLE_START) + TABLE_START.length;
    await writeFile(path, `${text.slice(0, start)}\n${table}\n${text.slice(text.indexOf(TABLE_END))}`);
  }
}
