import { Command } from "commander";
import type { ModelInfo } from "@asgard/contracts";
import { clientFor, globals, type Context } from "../context.js";
import { colours, dash, details, formatTime, statusColour, table, writeJson, type Io } from "../output.js";

export function modelsCommand(ctx: Context): Command {
  const models = new Command("models").description("registered models, their versions and aliases");

  models
    .command("ls")
    .alias("list")
    .description("registered models")
    .action(async (_opts: unknown, cmd: Command) => {
      const list = await clientFor(cmd).listModels();
      if (globals(cmd).output === "json") return writeJson(ctx.io, list);
      const rows = list.map((m) => [m.name, dash(latest(m)?.version), aliasList(m.aliases), formatTime(m.updated_at), dash(m.description)]);
      ctx.io.stdout.write(table(ctx.io, ["MODEL", "LATEST", "ALIASES", "UPDATED", "DESCRIPTION"], rows));
    });

  models
    .command("show")
    .description("one registered model with its latest versions and aliases")
    .argument("<model>")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const model = await clientFor(cmd).getModel(name);
      if (globals(cmd).output === "json") return writeJson(ctx.io, model);
      ctx.io.stdout.write(modelDetails(ctx.io, model));
    });

  const alias = models.command("alias").description("point aliases (champion, staging, …) at versions");
  alias
    .command("set")
    .description("create or move an alias to a version")
    .argument("<model>")
    .argument("<alias>", "e.g. champion")
    .argument("<version>", "version number, e.g. 3")
    .action(async (model: string, name: string, version: string, _opts: unknown, cmd: Command) => {
      const res = await clientFor(cmd).setAlias(model, name, version);
      if (globals(cmd).output === "json") return writeJson(ctx.io, res);
      const moved = res.previous_version && res.previous_version !== res.version ? ` (was version ${res.previous_version})` : "";
      ctx.io.stdout.write(`${res.model_name}@${res.alias} → version ${res.version}${moved}\n`);
    });
  alias
    .command("rm")
    .alias("delete")
    .description("delete an alias")
    .argument("<model>")
    .argument("<alias>")
    .action(async (model: string, name: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).deleteAlias(model, name);
      if (globals(cmd).output === "json") return writeJson(ctx.io, { model_name: model, alias: name, deleted: true });
      ctx.io.stdout.write(`${model}@${name} deleted\n`);
    });

  return models;
}

/** The highest version the API reports. */
function latest(model: ModelInfo) {
  return [...model.latest_versions].sort((a, b) => Number(b.version) - Number(a.version))[0];
}

const aliasList = (aliases: Record<string, string>) =>
  Object.entries(aliases)
    .map(([a, v]) => `${a}→${v}`)
    .join(" ") || "-";

function modelDetails(io: Io, model: ModelInfo): string {
  const c = colours(io.stdout, io.env);
  const head = details(io, [
    ["model", c.bold(model.name)],
    ["description", dash(model.description)],
    ["aliases", aliasList(model.aliases)],
    ["tags", Object.entries(model.tags).map(([k, v]) => `${k}=${v}`).join(" ") || "-"],
    ["created", formatTime(model.created_at)],
    ["updated", formatTime(model.updated_at)],
  ]);
  const rows = [...model.latest_versions]
    .sort((a, b) => Number(b.version) - Number(a.version))
    .map((v) => [v.version, statusColour(c, v.status), v.aliases.join(" ") || "-", dash(v.run_id), formatTime(v.created_at)]);
  return `${head}\n${table(io, ["VERSION", "STATUS", "ALIASES", "RUN", "CREATED"], rows)}`;
}
