import type { ModelRegistered, SignatureField } from "@asgard/contracts";

/** The signature part of model.registered: each input and output column (or tensor) with its type. */
export type SignatureSummary = NonNullable<ModelRegistered["signature"]>;
type Column = SignatureSummary["inputs"][number];

/**
 * Reads the signature of an MLmodel file as MLflow writes it (PyYAML `safe_dump`): a top-level
 * `signature:` mapping whose `inputs` and `outputs` are JSON strings, single-quoted and folded
 * over several lines when long. Only this shape is read — no general YAML parser is needed
 * for it. Returns null when the file has no signature or it cannot be read.
 */
export function readMlmodelSignature(mlmodel: string): SignatureSummary | null {
  const block = topLevelBlock(mlmodel.split(/\r?\n/), "signature");
  if (!block) return null;
  const inputs = columnsOf(scalarOf(block, "inputs"));
  if (!inputs) return null;
  return { inputs, outputs: columnsOf(scalarOf(block, "outputs")) ?? [] };
}

/** The indented lines under a top-level `key:` (a mapping). */
function topLevelBlock(lines: string[], key: string): string[] | null {
  const start = lines.findIndex((l) => new RegExp(`^${key}:\\s*$`).test(l));
  if (start === -1) return null;
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== "" && !/^\s/.test(line)) break;
    block.push(line);
  }
  return block;
}

/** The raw text of one key's scalar: its first line and the continuation lines indented deeper. */
function scalarOf(block: string[], key: string): string | null {
  const keyLine = new RegExp(`^(\\s+)${key}:(?:\\s(.*))?$`);
  for (let i = 0; i < block.length; i++) {
    const match = keyLine.exec(block[i] as string);
    if (!match) continue;
    const indent = (match[1] as string).length;
    const parts = [match[2] ?? ""];
    for (const next of block.slice(i + 1)) {
      const nextIndent = next.length - next.trimStart().length;
      if (next.trim() !== "" && nextIndent <= indent) break;
      parts.push(next);
    }
    return unquote(parts);
  }
  return null;
}

/** YAML line folding: line breaks become spaces, an empty line a newline. */
function fold(parts: string[]): string {
  let out = "";
  let pendingBreaks = 0;
  parts.forEach((raw, i) => {
    const part = i === 0 ? raw.trimEnd() : raw.trim();
    if (part === "" && i > 0) {
      pendingBreaks++;
      return;
    }
    if (i > 0) out += pendingBreaks > 0 ? "\n".repeat(pendingBreaks) : " ";
    pendingBreaks = 0;
    out += part;
  });
  return out.trim();
}

function unquote(parts: string[]): string | null {
  const text = fold(parts);
  if (text === "" || text === "null" || text === "~") return null;
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) return null;
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('"')) {
    try {
      // YAML's double-quoted escapes are JSON's for everything MLflow writes.
      const value: unknown = JSON.parse(text);
      return typeof value === "string" ? value : null;
    } catch {
      return null;
    }
  }
  return text;
}

/** MLflow's column or tensor specs as parsed JSON objects; null when they are not a JSON array. */
function specsOf(json: string | null): Record<string, unknown>[] | null {
  if (json === null) return null;
  let specs: unknown;
  try {
    specs = JSON.parse(json);
  } catch {
    return null;
  }
  if (!Array.isArray(specs)) return null;
  return specs.map((spec) => (typeof spec === "object" && spec !== null && !Array.isArray(spec) ? (spec as Record<string, unknown>) : {}));
}

/**
 * The signature's inputs and outputs field by field, for a form generated from them. Only the
 * shapes MLflow writes are read; anything else becomes an `unknown` field rather than an error.
 */
export function readMlmodelSignatureFields(mlmodel: string): { inputs: SignatureField[]; outputs: SignatureField[] } | null {
  const block = topLevelBlock(mlmodel.split(/\r?\n/), "signature");
  if (!block) return null;
  const inputs = specsOf(scalarOf(block, "inputs"));
  if (!inputs) return null;
  return { inputs: inputs.map(fieldOf), outputs: (specsOf(scalarOf(block, "outputs")) ?? []).map(fieldOf) };
}

function fieldOf(spec: Record<string, unknown>): SignatureField {
  const tensor = spec.type === "tensor" && typeof spec["tensor-spec"] === "object" && spec["tensor-spec"] !== null ? (spec["tensor-spec"] as Record<string, unknown>) : null;
  const shape = tensor && Array.isArray(tensor.shape) && tensor.shape.every((d) => Number.isInteger(d)) ? (tensor.shape as number[]) : null;
  return {
    name: typeof spec.name === "string" ? spec.name : null,
    type: typeof spec.type === "string" ? spec.type : "unknown",
    dtype: tensor && typeof tensor.dtype === "string" ? tensor.dtype : null,
    shape,
    required: spec.required !== false,
  };
}

/** Where the MLmodel says the input example is, relative to the model's folder; null without one. */
export function inputExamplePath(mlmodel: string): string | null {
  const block = topLevelBlock(mlmodel.split(/\r?\n/), "saved_input_example_info");
  const path = block ? scalarOf(block, "artifact_path") : null;
  // A plain file name beside the MLmodel: anything else is not what MLflow writes.
  return path !== null && /^[A-Za-z0-9._-]+$/.test(path) && !path.startsWith(".") ? path : null;
}

/** MLflow's column or tensor specs as summary columns; null when they are not a JSON array. */
function columnsOf(json: string | null): Column[] | null {
  const specs = specsOf(json);
  if (!specs) return null;
  return specs.map((spec): Column => {
    const s = (typeof spec === "object" && spec !== null ? spec : {}) as Record<string, unknown>;
    const name = typeof s.name === "string" ? s.name : null;
    return { name, type: typeOf(s) };
  });
}

function typeOf(spec: Record<string, unknown>): string {
  const type = typeof spec.type === "string" ? spec.type : "unknown";
  if (type === "tensor") {
    const tensor = (spec["tensor-spec"] ?? {}) as { dtype?: unknown; shape?: unknown };
    const dtype = typeof tensor.dtype === "string" ? tensor.dtype : "unknown";
    const shape = Array.isArray(tensor.shape) ? `[${tensor.shape.join(",")}]` : "";
    return `tensor<${dtype}>${shape}`;
  }
  if (type === "array" && typeof spec.items === "object" && spec.items !== null) {
    return `array<${typeOf(spec.items as Record<string, unknown>)}>`;
  }
  return type;
}
