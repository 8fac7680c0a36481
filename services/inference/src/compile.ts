import { randomUUID } from "node:crypto";
import { rename, writeFile } from "node:fs/promises";
import type { EnvLease, PyEnvManager } from "@asgard/pyenv";
import type { Logger } from "@asgard/telemetry";
import type { InferenceConfig } from "./config.js";
import { describe } from "./errors.js";
import type { CompileReply } from "./model-info.js";
import { RuntimeClosedError, type ModelRuntime } from "./model-runtime.js";

export interface CompileDeps {
  pyenv: PyEnvManager;
  config: InferenceConfig;
  logger: Logger;
  /** Aborted when the service stops: a converter environment being built is given up. */
  signal: AbortSignal;
}

/**
 * The compiled path of one loaded version, run after its first prediction was answered: the
 * converter environment (pinned tools, cached like every environment) is layered over the
 * model's; a sandboxed worker loads the model, converts it to ONNX and checks parity (the
 * model's files are parsed only there); the graph's bytes are stored beside the model's files;
 * and a sandboxed ONNX Runtime worker takes over. Any failure keeps the Python path, with the
 * reason in the runtime's `compileStatus` and the log. Never throws.
 */
export async function compileToOnnx(runtime: ModelRuntime, deps: CompileDeps): Promise<void> {
  const { pyenv, config, logger, signal } = deps;
  const fields = { model: runtime.name, version: runtime.version };
  runtime.compileStatus = { state: "compiling", reason: null, compiledAt: null };
  let tools: EnvLease | null = null;
  try {
    tools = await pyenv.acquire(config.compileTools, { signal }).catch((err: unknown) => {
      throw new Error(`the converter environment could not be built: ${describe(err)}`, { cause: err });
    });
    const reply = await convert(runtime, tools, config);
    const file = `${runtime.modelDir}.onnx`;
    // Replicas may share model directories: each writes its own partial file, and the rename
    // puts a whole graph in place (every replica's graph passed the same parity check).
    const partial = `${file}.${randomUUID()}.partial`;
    await writeFile(partial, Buffer.from(reply.onnx, "base64"));
    await rename(partial, file);
    await runtime.switchToOnnx({ file, tools });
    tools = null;
    logger.info({ ...fields, parity: reply.parity }, "model compiled to ONNX; served by ONNX Runtime from now on");
  } catch (err) {
    if (err instanceof RuntimeClosedError || signal.aborted) return;
    const reason = describe(err);
    runtime.compileStatus = { state: "python", reason, compiledAt: null };
    logger.warn({ ...fields, reason }, "model not compiled to ONNX; it stays on the Python path");
  } finally {
    await tools?.release();
  }
}

/** Conversion and parity check in a sandboxed worker of their own, stopped afterwards. */
async function convert(runtime: ModelRuntime, tools: EnvLease, config: InferenceConfig): Promise<CompileReply> {
  const worker = runtime.spawnCompiler(tools);
  try {
    return await worker.compile(runtime.modelDir, tools.path, config.compileTimeoutMs);
  } finally {
    await worker.stop(config.workerStopGraceMs).catch(() => undefined);
  }
}
