import type { ModelSignature, SignatureField } from "../types.js";

/** One field of the generated "try it" form. */
export interface FormField {
  /** The `inputs` key the value is sent under. */
  key: string;
  kind: "number" | "integer" | "boolean" | "text";
  /** Type as the signature names it, shown beside the field. */
  hint: string;
  required: boolean;
  /** The input example's value, as the field's starting text ("" without one). */
  example: string;
}

/** Tensors wider than this get the JSON box instead: a form of hundreds of fields helps nobody. */
const MAX_FIELDS = 64;

const NUMBER_TYPES = new Set(["double", "float", "float32", "float64"]);
const INTEGER_TYPES = new Set(["long", "integer", "int32", "int64"]);

function kindOf(type: string): FormField["kind"] | null {
  if (NUMBER_TYPES.has(type)) return "number";
  if (INTEGER_TYPES.has(type) || /^u?int\d+$/.test(type)) return "integer";
  if (type === "boolean" || type === "bool") return "boolean";
  if (type === "string" || type === "str") return "text";
  return null;
}

const text = (v: unknown) => (v === null || v === undefined ? "" : String(v));

/**
 * The form a signature allows, or null when it cannot be a form of scalars: named columns of
 * scalar types, or one `[-1, n]` tensor (a model logged from numpy arrays, whose columns the
 * inference API takes in request order — they are sent as f0…fn-1).
 */
export function formFields(signature: ModelSignature): FormField[] | null {
  if (!signature.has_signature || signature.inputs.length === 0) return null;
  const example = signature.input_example ?? [];
  const [first] = signature.inputs;
  if (signature.inputs.length === 1 && first?.type === "tensor") return tensorFields(first, example);
  const fields: FormField[] = [];
  for (const [i, input] of signature.inputs.entries()) {
    const kind = kindOf(input.type);
    if (!kind || input.name === null) return null;
    fields.push({ key: input.name, kind, hint: input.type, required: input.required, example: text(example[i]) });
  }
  return fields.length <= MAX_FIELDS ? fields : null;
}

function tensorFields(tensor: SignatureField, example: unknown[]): FormField[] | null {
  const kind = tensor.dtype ? kindOf(tensor.dtype) : null;
  const width = tensor.shape?.length === 2 ? tensor.shape[1] : null;
  if (!kind || !width || width < 1 || width > MAX_FIELDS) return null;
  return Array.from({ length: width }, (_, i) => ({ key: `f${i}`, kind, hint: `${tensor.dtype} [${i}]`, required: true, example: text(example[i]) }));
}

/** The request's `inputs` (one row) from the fields' texts, or what to fix. */
export function readFields(fields: FormField[], valueOf: (f: FormField) => string): Record<string, unknown[]> | string {
  const inputs: Record<string, unknown[]> = {};
  for (const f of fields) {
    const raw = valueOf(f).trim();
    if (raw === "") {
      if (f.required) return `${f.key} is required: enter a value`;
      inputs[f.key] = [null];
      continue;
    }
    if (f.kind === "number" || f.kind === "integer") {
      const n = Number(raw);
      if (!Number.isFinite(n)) return `${f.key} must be a number`;
      if (f.kind === "integer" && !Number.isInteger(n)) return `${f.key} must be a whole number`;
      inputs[f.key] = [n];
    } else if (f.kind === "boolean") {
      inputs[f.key] = [raw === "true"];
    } else {
      inputs[f.key] = [raw];
    }
  }
  return inputs;
}
