import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { exitOnConfigError, parseEnv } from "@asgard/config";
import {
  adoptGlobalAccountStore,
  DEBIAN_PACKAGES,
  ensureBubblewrap,
  ensureDebianPackages,
  freePort,
  localNatsAuth,
  natsClientEnv,
  preferredOrFreePort,
  spawnManaged,
  startMlflowServer,
  startNatsServer,
  type NatsAuth,
} from "@asgard/infra";
import { ensureUv } from "@asgard/tools";
import { StartEnv } from "./env.js";
import { activeKeyInBucket, mlflowAuthOn } from "./mlflow-auth.js";
import { connectAsGateway } from "./platform-bus.js";
import { loadOrCreateMlflowSecrets, mlflowSecretsPath } from "./mlflow-secrets.js";
import { clearDatabaseLock, RunRecords, takeOverRunDir } from "./leftovers.js";
import { statusSnapshotReader, waitUntilUsable } from "./readiness.js";
import { SERVICES, serviceEntry } from "./services.js";
import { supervise, type Supervised } from "./supervisor.js";

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
    const records = new RunRecords(join(dataDir, "run"));
    for (const what of await takeOverRunDir(records, dataDir)) say(`Stopped ${what}, left running by an earlier start.`);
    stops.push(async () => records.forget("owner"));
    if (!env.DATABASE_URL) {
      const cleared = await clearDatabaseLock(dataDir);
      if (cleared) say(`Stopped ${cleared}, left running by an earlier start.`);
    }
    // uv's own virtualenv needs python3-venv; setpriv and unshare tie our children to us.
    const debian = await ensureDebianPackages([DEBIAN_PACKAGES.pythonVenv, DEBIAN_PACKAGES.utilLinux]);
    if (debian.message) throw new Error(debian.message);
    const [bwrap] = await Promise.all([ensureBubblewrap(), ensureUv()]);
    // Scripts and models run in the sandbox unless both opt-outs are set: either service would
    // otherwise refuse its work (the runner at start, inference for every model).
    const sandboxOptedOut = process.env.RUNNER_SANDBOX === "process-group" && process.env.INFERENCE_SANDBOX === "process-group";
    if (!bwrap.available && !sandboxOptedOut) throw new Error(bwrap.message ?? "bubblewrap missing");
    const restartNotice = (name: string) => ({
      onRestart: (attempt: number, code: number | null) => say(`[${name}] exited with code ${code}; restart #${attempt}`),
      onStartFailed: (attempt: number, err: unknown) =>
        say(`[${name}] restart #${attempt} failed: ${err instanceof Error ? err.message : String(err)}`),
    });

    let natsUrl = env.NATS_URL;
    // The embedded server admits only the platform's users, with passwords kept in the data dir.
    let natsAuth: NatsAuth | undefined;
    if (!natsUrl) {
      say("Starting nats-server with JetStream…");
      const auth = await localNatsAuth(dataDir);
      natsAuth = auth;
      if (await adoptGlobalAccountStore(join(dataDir, "nats"))) say("  moved the JetStream store into the platform's NATS account");
      // Fixed for the run: a restarted server comes back where the services reconnect.
      const port = await freePort();
      const monitorPort = await freePort();
      const nats = await supervise({
        name: "nats-server",
        records,
        start: async () =>
          (
            await startNatsServer({
              storeDir: join(dataDir, "nats"),
              auth,
              port,
              monitorPort,
              logFile: join(logDir, "nats-server.log"),
              dieWithParent: { signal: "SIGTERM" },
            })
          ).process,
        ...restartNotice("nats-server"),
      });
      stops.push(() => nats.stop());
      natsUrl = `nats://127.0.0.1:${port}`;
    }

    const bus = await connectAsGateway(natsUrl, natsAuth ? natsClientEnv(natsAuth, "gateway") : process.env);
    stops.push(() => bus.close());

    let mlflowUrl = env.MLFLOW_TRACKING_URI;
    // An external MLflow with auth takes its credentials from MLFLOW_TRACKING_USERNAME/_PASSWORD
    // and MLFLOW_TENANT_SECRET in this environment, which the services inherit.
    let mlflowAuthEnv: Record<string, string> = {};
    if (!mlflowUrl) {
      const authOn = await mlflowAuthOn(env.MLFLOW_AUTH, process.env, () => activeKeyInBucket(bus));
      const secrets = authOn ? await loadOrCreateMlflowSecrets(dataDir) : null;
      if (secrets) {
        mlflowAuthEnv = {
          MLFLOW_TRACKING_USERNAME: secrets.admin_username,
          MLFLOW_TRACKING_PASSWORD: secrets.admin_password,
          MLFLOW_TENANT_SECRET: secrets.tenant_secret,
        };
      }
      say("Starting MLflow (the first run creates its virtualenv; this can take a minute)…");
      const port = await preferredOrFreePort(env.MLFLOW_PORT);
      const mlflow = await supervise({
        name: "mlflow",
        records,
        start: async () =>
          (
            await startMlflowServer({
              port,
              backendStoreUri: `sqlite:///${join(dataDir, "mlflow", "mlflow.db")}`,
              artifactsDestination: join(dataDir, "mlflow", "artifacts"),
              logFile: join(logDir, "mlflow.log"),
              ...(secrets
                ? {
                    auth: {
                      admin: { username: secrets.admin_username, password: secrets.admin_password },
                      secretKey: secrets.flask_secret_key,
                      databaseUri: `sqlite:///${join(dataDir, "mlflow", "auth.db")}`,
                      configDir: join(dataDir, "secrets"),
                    },
                  }
                : {}),
              // Its own PID namespace: the server's worker process dies with it.
              dieWithParent: { signal: "SIGKILL", tree: true },
            })
          ).process,
        ...restartNotice("mlflow"),
      });
      stops.push(() => mlflow.stop());
      mlflowUrl = `http://127.0.0.1:${port}`;
    }

    const serviceEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NATS_URL: natsUrl,
      MLFLOW_TRACKING_URI: mlflowUrl,
      ...mlflowAuthEnv,
      ASGARD_DATA_DIR: dataDir,
      PORT: String(env.PORT),
      LOG_LEVEL: env.LOG_LEVEL,
      // The services' own parent watch, for machines without util-linux's setpriv.
      ASGARD_EXIT_WITH_PARENT: "1",
    };
    const services: Supervised[] = [];
    for (const name of SERVICES) {
      const service = await supervise({
        name,
        records,
        start: async () =>
          spawnManaged({
            name,
            command: process.execPath,
            args: ["--enable-source-maps", serviceEntry(root, name)],
            env: natsAuth ? { ...serviceEnv, ...natsClientEnv(natsAuth, name) } : serviceEnv,
            cwd: root,
            logFile: join(logDir, `${name}.log`),
            // SIGTERM: a service then stops the way it always does, its own children included.
            dieWithParent: { signal: "SIGTERM" },
            onLine: (line) => {
              // Services log JSON lines to their files; the terminal gets warnings and errors.
              if (/"level":(40|50|60)/.test(line) || !line.startsWith("{")) say(`[${name}] ${line}`);
            },
          }),
        ...restartNotice(name),
      });
      services.push(service);
    }
    // Together: each may take its shutdown grace, and none waits on another.
    stops.push(async () => void (await Promise.all(services.map((s) => s.stop()))));

    const api = `http://127.0.0.1:${env.PORT}`;
    await waitUntilUsable(api, 300_000, statusSnapshotReader(bus));
    await bus.close();
    say("");
    say("Asgard is up.");
    say(`  API        ${api}/mlops/status`);
    say(`  API docs   ${api}/docs`);
    say(`  MLflow     ${mlflowUrl}`);
    if (mlflowAuthEnv.MLFLOW_TRACKING_USERNAME) say(`             basic auth; admin credentials in ${mlflowSecretsPath(dataDir)}`);
    say(`  NATS       ${natsUrl}`);
    if (natsAuth) say(`  NATS users ${natsAuth.file} (the read-only user "reader" is for external consumers)`);
    say(`  Logs       ${logDir}`);
    say("Press Ctrl-C to stop.");
  } catch (err) {
    process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
  }
}

main().catch(exitOnConfigError);
