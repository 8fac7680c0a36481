import { UsageError } from "./errors.js";

/**
 * A CSV file as the inference API's `inputs`: the header names the columns, each row is one
 * prediction. Numbers become numbers, `true`/`false` booleans, empty cells null; quoted
 * cells (RFC 4180) stay text.
 */
export function csvToInputs(text: string): Record<string, (number | string | boolean | null)[]> {
  const rows = parseCsv(text).filter((r) => !(r.length === 1 && r[0]?.value === ""));
  const [header, ...data] = rows;
  if (!header || data.length === 0) throw new UsageError("the CSV needs a header line naming the columns and at least one row of values");
  const names = header.map((cell) => cell.value.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (name === "") throw new UsageError("the CSV header has an empty column name: name every column after the model's input");
    if (seen.has(name)) throw new UsageError(`the CSV header names column "${name}" twice`);
    seen.add(name);
  }
  data.forEach((row, i) => {
    if (row.length !== names.length) throw new UsageError(`CSV row ${i + 2} has ${row.length} values but the header names ${names.length} columns`);
  });
  const value = (cell: Cell | undefined) => (cell === undefined ? null : cell.quoted ? cell.value : scalar(cell.value.trim()));
  return Object.fromEntries(names.map((name, j) => [name, data.map((row) => value(row[j]))]));
}

function scalar(text: string): number | string | boolean | null {
  if (text === "") return null;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return text;
}

interface Cell {
  value: string;
  quoted: boolean;
}

function parseCsv(text: string): Cell[][] {
  const rows: Cell[][] = [];
  let row: Cell[] = [];
  let cell = "";
  let quoted = false;
  let inQuotes = false;
  const src = text.replace(/^\uFEFF/, "");
  const endCell = () => {
    row.push({ value: cell, quoted });
    cell = "";
    quoted = false;
  };
  for (let i = 0; i < src.length; i++) {
    const ch = src.charAt(i);
    if (inQuotes) {
      if (ch === '"' && src[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') inQuotes = false;
      else cell += ch;
    } else if (ch === '"' && cell.trim() === "") (inQuotes = true), (quoted = true), (cell = "");
    else if (ch === ",") endCell();
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && src[i + 1] === "\n") i++;
      endCell();
      rows.push(row);
      row = [];
    } else cell += ch;
  }
  if (inQuotes) throw new UsageError("the CSV ends inside a quoted value: close the quote");
  if (cell !== "" || row.length > 0) {
    endCell();
    rows.push(row);
  }
  return rows;
}
