import type { z } from "zod";
import { GatewayEnv } from "@asgard/gateway/env";
import { InferenceEnv } from "@asgard/inference/env";
import { SchedulerEnv } from "@asgard/job-scheduler/env";
import { RunnerEnv } from "@asgard/python-runner/env";
import { RegistryEnv } from "@asgard/registry/env";
import { StatusEnv } from "@asgard/status/env";
import { StartEnv } from "@asgard/cli/env";

/** Every process's environment schema, by the name the README uses for it. */
export const ENV_SCHEMAS: Record<string, z.ZodObject> = {
  "npm start": StartEnv as unknown as z.ZodObject,
  gateway: GatewayEnv as unknown as z.ZodObject,
  "job-scheduler": SchedulerEnv as unknown as z.ZodObject,
  "python-runner": RunnerEnv as unknown as z.ZodObject,
  registry: RegistryEnv as unknown as z.ZodObject,
  inference: InferenceEnv as unknown as z.ZodObject,
  status: StatusEnv as unknown as z.ZodObject,
};

/** Markdown rows `| service | variable | meaning and default |` for every variable. */
export function renderEnvTable(): string {
  const rows = ["| process | variable | expected form and default |", "|---|---|---|"];
  for (const [service, schema] of Object.entries(ENV_SCHEMAS)) {
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      rows.push(`| ${service} | \`${name}\` | ${describe(field).replace(/\|/g, "\\|")} |`);
    }
  }
  return rows.join("\n");
}

/** A field's description, looking through the wrappers (pipe, transform, optional, default) zod puts around it. */
function describe(field: z.ZodType, depth = 0): string {
  if (field.description) return field.description;
  if (depth > 6) return "";
  const def = (field as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  for (const key of ["in", "innerType", "schema", "out"]) {
    const inner = def[key] as z.ZodType | undefined;
    if (inner && typeof inner === "object" && "_zod" in inner) {
      const found = describe(inner, depth + 1);
      if (found) return found;
    }
  }
  return "";
}
