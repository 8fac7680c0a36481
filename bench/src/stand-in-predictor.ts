import { connectBus } from "@asgard/bus";
import { RPC } from "@asgard/contracts";

/**
 * Answers `rpc.inference.predict` like the inference service, with no model: it keeps a core
 * busy for SPIN_MS (as a predict call would) and reports that time as `inference_time_ms`.
 * Through the real gateway and NATS it shows what the hops alone cost at concurrency 1.
 */
const spinMs = Number(process.env.SPIN_MS ?? "0");
const bus = await connectBus({ servers: process.env.NATS_URL ?? "", name: "stand-in-predictor" });
bus.serve(RPC.predict, async (req) => {
  const started = performance.now();
  while (performance.now() - started < spinMs) {
    // A busy core, not a timer: the other processes idle as they do during a real predict.
  }
  return {
    model_name: req.model_name,
    model_version: "1",
    predictions: [0],
    probabilities: null,
    inference_time_ms: performance.now() - started,
    timestamp: new Date().toISOString(),
  };
});
process.stdout.write("stand-in predictor ready\n");
const stop = () => void bus.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
