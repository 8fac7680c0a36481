import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { exitOnConfigError, parseEnv } from "@asgard/config";
import {
  ensureBubblewrap,
  ensureUv,
  preferredOrFreePort,
  startMlflowServer,
  startNatsServer,
  type MlflowServer,
  type NatsServer,
} from "@asgard/infra";
import { StartEnv } from "./env.js";
import { SERVICES, serviceEntry } from "./services.js";
import { supervise } from "./supervisor.js";

const root = process.cwd();

async function main(): Promise<void> {
  const env = parseEnv("npm start", StartEnv);
  const dataDir = resolve(root, env.ASGARD_DATA_DIR);
  const logDir = join(dataDir, "logs");
  await mkdir(logDir, { recursive: true });
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const stops: Array<() => Promise<void>> = [];
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say("\nStopping Asgard…");
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    say("Stopped.");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  try {
    const [bwrap] = await Promise.all([ensureBubblewrap(), ensureUv()]);
    if (!bwrap.available && process.env.RUNNER_SANDBOX !== "process-group") throw new Error(bwrap.message ?? "bubblewrap missing");
    let nats: NatsServer | null = null;
    if (!env.NATS_URL) {
      say("Starting nats-server with JetStream…");
      nats = await startNatsServer({ storeDir: join(dataDir, "nats"), logFile: join(logDir, "nats-server.log") });
      stops.push(() => nats!.stop());
    }
    const natsUrl = env.NATS_URL ?? nats!.url;

    let mlflow: MlflowServer | null = null;
    if (!env.MLFLOW_TRACKING_URI) {
      say("Starting MLflow (the first run creates its virtualenv; this can take a minute)…");
      mlflow = await startMlflowServer({
        port: await preferredOrFreePort(env.MLFLOW_PORT),
        backendStoreUri: `sqlite:///${join(dataDir, "mlflow", "mlflow.db")}`,
        artifactsDestination: join(dataDir, "mlflow", "artifacts"),
        logFile: join(logDir, "mlflow.log"),
      });
      stops.push(() => mlflow!.stop());
    }
    const mlflowUrl = env.MLFLOW_TRACKING_URI ?? mlflow!.url;

    const serviceEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NATS_URL: natsUrl,
      MLFLOW_TRACKING_URI: mlflowUrl,
      ASGARD_DATA_DIR: dataDir,
      PORT: String(env.PORT),
      LOG_LEVEL: env.LOG_LEVEL,
      ASGARD_EXIT_WITH_PARENT: "1",
    };
    for (const name of SERVICES) {
      const service = supervise({
        name,
        command: process.execPath,
        args: ["--import", "tsx", serviceEntry(root, name)],
        env: serviceEnv,
        cwd: root,
        logFile: join(logDir, `${name}.log`),
        onLine: (line) => {
          // Services log JSON lines to their files; the terminal gets warnings and errors.
          if (/"level":(40|50|60)/.test(line) || !line.startsWith("{")) say(`[${name}] ${line}`);
        },
        onRestart: (attempt, code) => say(`[${name}] exited with code ${code}; restart #${attempt}`),
      });
      stops.push(() => service.stop());
    }

    const api = `http://127.0.0.1:${env.PORT}`;
    await waitForReady(`${api}/readyz`, 120_000);
    say("");
    say("Asgard is up.");
    say(`  API        ${api}/mlops/status`);
    say(`  API docs   ${api}/docs`);
    say(`  MLflow     ${mlflowUrl}`);
    say(`  NATS       ${natsUrl}`);
    say(`  Logs       ${logDir}`);
    say("Press Ctrl-C to stop.");
  } catch (err) {
    process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
  }
}

async function waitForReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(250);
  }
  throw new Error(`the gateway was not ready at ${url} within ${timeoutMs / 1000} s (see the logs folder)`);
}

main().catch(exitOnConfigError);
