import { connectBus, type Bus } from "@asgard/bus";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * npm start's own connection to the platform's NATS, as the gateway's user: it reads what the
 * gateway reads (API keys, the status snapshot) without going through the API, which needs a
 * key once keys exist. An external NATS is reached with NATS_USER/NATS_PASSWORD of this
 * environment, as the services reach it.
 */
export async function connectAsGateway(servers: string, auth: { NATS_USER?: string | undefined; NATS_PASSWORD?: string | undefined }): Promise<Bus> {
  const creds = auth.NATS_USER && auth.NATS_PASSWORD ? { user: auth.NATS_USER, pass: auth.NATS_PASSWORD } : {};
  return connectBus({ servers, name: "npm-start", ...creds, logger: quiet, connectTimeoutMs: 30_000 });
}
