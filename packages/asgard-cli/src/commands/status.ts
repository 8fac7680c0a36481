import { Command } from "commander";
import { clientFor, globals, type Context } from "../context.js";
import { colours, dash, details, formatTime, statusColour, writeJson } from "../output.js";

export function statusCommand(ctx: Context): Command {
  return new Command("status").description("the platform's health: MLflow, feature store, runners, queue").action(async (_opts: unknown, cmd: Command) => {
    const s = await clientFor(cmd).status();
    if (globals(cmd).output === "json") return writeJson(ctx.io, s);
    const c = colours(ctx.io.stdout, ctx.io.env);
    const up = (ok: boolean | undefined) => (ok === undefined ? "-" : statusColour(c, ok ? "up" : "down"));
    const pairs: [string, string][] = [
      ["api", globals(cmd).url],
      ["mlflow", `${up(s.mlflow_available)}  ${s.mlflow_tracking_uri}`],
      ["feature store", up(s.feast_store_available)],
      ["registered models", String(s.registered_models)],
      ["active experiments", String(s.active_experiments)],
      ["feature views", String(s.feature_views)],
    ];
    pairs.push(["nats", up(s.components.nats.available)], ["database", up(s.components.database.available)]);
    for (const [name, health] of Object.entries(s.services ?? {})) pairs.push([name.replace("_", "-"), up(health.available)]);
    if (s.runners) pairs.push(["runners", `${s.runners.live} live · ${s.runners.busy}/${s.runners.slots} slots busy`]);
    if (s.queue) pairs.push(["queue", `${s.queue.pending} waiting · ${s.queue.in_flight} in flight`]);
    pairs.push(["snapshot", formatTime(s.timestamp)]);
    ctx.io.stdout.write(details(ctx.io, pairs.map(([k, v]) => [k, dash(v)])));
  });
}
