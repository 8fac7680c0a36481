import { Command } from "commander";
import { clientFor, globals, type Context } from "../context.js";
import { csvToInputs } from "../csv.js";
import { UsageError } from "../errors.js";
import { readInput } from "../files.js";
import { parseModelRef } from "../model-ref.js";
import { table, writeJson } from "../output.js";
import type { InferenceBody } from "../client.js";

interface PredictOptions {
  json?: string;
  csv?: string;
  probabilities?: boolean;
}

export function predictCommand(ctx: Context): Command {
  return new Command("predict")
    .description("predictions from a registered model")
    .argument("<model>", "NAME (latest version), NAME@alias or NAME:version")
    .option("--json <body>", 'the request without the model fields, e.g. \'{"inputs": {"f0": [1.0]}, "return_probabilities": true}\'; @FILE reads it from a file, - from stdin')
    .option("--csv <file>", "rows to predict: the header names the columns (- for stdin)")
    .option("-p, --probabilities", "also return class probabilities (classifiers)")
    .action(async (modelText: string, opts: PredictOptions, cmd: Command) => {
      if ((opts.json === undefined) === (opts.csv === undefined)) throw new UsageError("give the inputs with exactly one of --json BODY or --csv FILE");
      const ref = parseModelRef(modelText);
      const body: InferenceBody = { ...ref, inputs: {} };
      if (opts.json !== undefined) Object.assign(body, await jsonBody(opts.json, ctx.io.stdin));
      if (opts.csv !== undefined) body.inputs = csvToInputs((await readInput(opts.csv, ctx.io.stdin, "CSV file")).toString("utf8"));
      // The model comes from the argument: a body naming one would be ambiguous.
      Object.assign(body, ref);
      if (opts.probabilities) body.return_probabilities = true;
      const res = await clientFor(cmd).predict(body);
      for (const warning of res.warnings ?? []) ctx.io.stderr.write(`warning: ${warning}\n`);
      if (globals(cmd).output === "json") return writeJson(ctx.io, res);
      const rows = res.predictions.map((p, i) => [String(i), JSON.stringify(p), ...(res.probabilities ? [res.probabilities[i]?.map((x) => x.toFixed(4)).join(" ") ?? ""] : [])]);
      ctx.io.stdout.write(table(ctx.io, ["ROW", "PREDICTION", ...(res.probabilities ? ["PROBABILITIES"] : [])], rows));
      if (ctx.io.stdout.isTTY) ctx.io.stderr.write(`${res.model_name} version ${res.model_version} · ${res.inference_time_ms.toFixed(2)} ms\n`);
    });
}

async function jsonBody(arg: string, stdin: NodeJS.ReadableStream): Promise<Record<string, unknown>> {
  const text = arg === "-" || arg.startsWith("@") ? (await readInput(arg === "-" ? "-" : arg.slice(1), stdin, "JSON body")).toString("utf8") : arg;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--json is not valid JSON (${(error as Error).message}); send e.g. '{"inputs": {"f0": [1.0, 2.0]}}'`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError('--json must be a JSON object such as \'{"inputs": {"f0": [1.0]}, "return_probabilities": true}\'');
  }
  return parsed as Record<string, unknown>;
}
