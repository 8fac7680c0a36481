import { z } from "zod";
import { describeValue, report } from "./common.js";
import { TenantSchema } from "../tenant.js";

/**
 * Query-string fields. Values arrive as strings (or arrays of strings when a parameter is
 * repeated; some routers coerce numbers first); these read them, and document the decoded
 * type for OpenAPI instead of the raw one.
 */

/** A repeated parameter counts once: its last value. */
export function lastValue(raw: unknown): unknown {
  return Array.isArray(raw) ? raw[raw.length - 1] : raw;
}

/** An integer parameter in `min..max`; `fallback` when absent (undefined: stays absent). */
export function queryInt<F extends number | undefined>(description: string, min: number, max: number, fallback: F) {
  return z
    .unknown()
    .optional()
    .transform((input, ctx): number | F => {
      const raw = lastValue(input);
      if (raw === undefined || raw === "") return fallback;
      const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
      if (!Number.isInteger(n) || n < min || n > max) {
        const dflt = fallback === undefined ? "" : ` (default ${fallback})`;
        const got = typeof raw === "string" || typeof raw === "number" ? JSON.stringify(raw) : describeValue(raw);
        report(ctx, `must be a whole number between ${min} and ${max}${dflt}; got ${got}`);
        return z.NEVER;
      }
      return n;
    })
    .meta({
      type: "integer",
      minimum: min,
      maximum: max,
      ...(fallback === undefined ? {} : { default: fallback }),
      description,
    });
}

/**
 * An optional parameter read by `read` from its (last) value; "" means absent. `read` reports
 * a bad value on `ctx` and returns z.NEVER.
 */
function optionalQuery<T>(read: (raw: unknown, ctx: z.RefinementCtx) => T) {
  return z
    .unknown()
    .optional()
    .transform((input, ctx): T | undefined => {
      const raw = lastValue(input);
      return raw === undefined || raw === "" ? undefined : read(raw, ctx);
    });
}

const shown = (raw: unknown) => (typeof raw === "string" ? JSON.stringify(raw) : describeValue(raw));

/** An optional text parameter; "" means absent. */
export function queryText(description: string) {
  return optionalQuery((raw, ctx): string => {
    if (typeof raw === "string") return raw;
    report(ctx, `must be text (got ${describeValue(raw)})`);
    return z.NEVER;
  }).meta({ type: "string", description });
}

/** An optional parameter with one of fixed values. */
export function queryEnum<const T extends readonly [string, ...string[]]>(description: string, values: T) {
  return optionalQuery((raw, ctx): T[number] => {
    if (typeof raw === "string" && (values as readonly string[]).includes(raw)) return raw as T[number];
    report(ctx, `must be one of ${values.join(", ")}; got ${shown(raw)}`);
    return z.NEVER;
  }).meta({ type: "string", enum: [...values], description });
}

/** An optional tenant name parameter; "" means absent. */
export function queryTenant(description: string) {
  return optionalQuery((raw, ctx): string => {
    const parsed = TenantSchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    report(ctx, `${parsed.error.issues[0]?.message ?? "must be a tenant name"}; got ${shown(raw)}`);
    return z.NEVER;
  }).meta({ type: "string", description, examples: ["team-a"] });
}
