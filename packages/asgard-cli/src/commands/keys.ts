import { Command, Option } from "commander";
import { clientFor, globals, type Context } from "../context.js";
import { UsageError } from "../errors.js";
import { collect, positiveInt } from "../files.js";
import { colours, dash, formatTime, statusColour, table, writeJson } from "../output.js";
import type { CreateKeyBody } from "../client.js";

const SCOPES = ["jobs:submit", "jobs:read", "models:manage", "predict", "metrics", "admin"];

function scope(value: string, previous: string[]): string[] {
  if (!SCOPES.includes(value)) throw new UsageError(`--scope ${value} is no scope; choose from ${SCOPES.join(", ")}`);
  return collect(value, previous);
}

interface CreateOptions {
  name: string;
  scope: string[];
  admin?: boolean;
  tenant?: string;
  expiresDays?: number;
  rateLimit?: number;
  limitsExempt?: boolean;
}

export function keysCommand(ctx: Context): Command {
  const keys = new Command("keys").description("API keys (admin): create, list, revoke");

  keys
    .command("create")
    .description("make a key; it is shown once")
    .option("--name <name>", "who or what uses the key, e.g. ci-pipeline", "cli")
    .addOption(new Option("--scope <scope>", `what the key may do (repeatable): ${SCOPES.join(", ")}`).argParser(scope).default([]))
    .option("--admin", "the admin scope (everything, key management included)")
    .option("--tenant <tenant>", "the tenant the key acts in (default: your key's)")
    .addOption(new Option("--expires-days <days>", "days until the key stops working (default: never)").argParser(positiveInt("--expires-days")))
    .addOption(new Option("--rate-limit <per-minute>", "requests per minute for this key (default: the gateway's)").argParser(positiveInt("--rate-limit")))
    .option("--limits-exempt", "exempt the key from the per-key limits (benchmark clients)")
    .action(async (opts: CreateOptions, cmd: Command) => {
      const scopes = [...new Set([...opts.scope, ...(opts.admin ? ["admin"] : [])])];
      const body: CreateKeyBody = { name: opts.name, scopes };
      if (opts.tenant) body.tenant = opts.tenant;
      if (opts.expiresDays !== undefined) body.expires_in_days = opts.expiresDays;
      if (opts.rateLimit !== undefined) body.rate_limit_per_minute = opts.rateLimit;
      if (opts.limitsExempt) body.limits_exempt = true;
      const key = await clientFor(cmd).createKey(body);
      if (globals(cmd).output === "json") return writeJson(ctx.io, key);
      ctx.io.stdout.write(`${key.key}\n`);
      ctx.io.stderr.write(
        `Key ${key.id} (${key.name}, tenant ${key.tenant}, ${key.scopes.join(" ")}) — shown this once: store it now.\nUse it: export ASGARD_API_KEY=<the key above>\n`,
      );
    });

  keys
    .command("list")
    .alias("ls")
    .description("every key, revoked and expired ones included (never their secrets)")
    .action(async (_opts: unknown, cmd: Command) => {
      const list = await clientFor(cmd).listKeys();
      if (globals(cmd).output === "json") return writeJson(ctx.io, list);
      const c = colours(ctx.io.stdout, ctx.io.env);
      const rows = list.map((k) => [k.id, k.name, k.tenant, statusColour(c, k.state), k.scopes.join(","), formatTime(k.created_at), formatTime(k.expires_at), dash(k.rate_limit_per_minute)]);
      ctx.io.stdout.write(table(ctx.io, ["ID", "NAME", "TENANT", "STATE", "SCOPES", "CREATED", "EXPIRES", "RATE/MIN"], rows));
    });

  keys
    .command("revoke")
    .description("revoke a key at once, on every gateway replica")
    .argument("<key-id>", "the id `asgard keys list` shows")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const key = await clientFor(cmd).revokeKey(id);
      if (globals(cmd).output === "json") return writeJson(ctx.io, key);
      ctx.io.stdout.write(`Key ${key.id} (${key.name}) revoked.\n`);
    });

  return keys;
}
