import { hostname, userInfo } from "node:os";
import { parseArgs } from "node:util";
import { newApiKey, SCOPE_NAMES, type CreateKeyResponse, type KeyInfo, type Scope } from "@asgard/contracts";
import { generateMlflowSecrets } from "./mlflow-secrets.js";

/**
 * `npm run keys -- create|list|revoke|bootstrap-secret|mlflow-secret`: API keys of a running platform,
 * through the gateway's admin routes (ASGARD_URL, default http://127.0.0.1:8000; the admin
 * key in ASGARD_API_KEY). The first key needs no key: create it with `--admin` against a
 * gateway in local mode (bound to loopback, no key yet).
 */
const USAGE = `usage:
  npm run keys -- create [--admin] [--scope SCOPE]... [--tenant TENANT] [--name NAME] [--expires-days DAYS]
                         [--rate-limit REQUESTS_PER_MINUTE] [--limits-exempt]
  npm run keys -- list
  npm run keys -- revoke KEY_ID
  npm run keys -- bootstrap-secret [--namespace NAMESPACE]
  npm run keys -- mlflow-secret [--namespace NAMESPACE]
scopes: ${SCOPE_NAMES.join(", ")}
environment: ASGARD_URL (default http://127.0.0.1:8000), ASGARD_API_KEY (an admin key, once one exists)`;

class UsageError extends Error {}

const baseUrl = () => (process.env.ASGARD_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (process.env.ASGARD_API_KEY) headers.authorization = `Bearer ${process.env.ASGARD_API_KEY}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`${baseUrl()}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new Error(`cannot reach the gateway at ${baseUrl()} (${(err as Error).message}); is the platform running (npm start)? set ASGARD_URL otherwise`);
  }
  const text = await res.text();
  if (!res.ok) {
    const message = (() => {
      try {
        return (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        return text;
      }
    })();
    const hint = res.status === 401 && !process.env.ASGARD_API_KEY ? " (set ASGARD_API_KEY to an admin key)" : "";
    throw new Error(`${method} ${path} answered ${res.status}: ${message}${hint}`);
  }
  return JSON.parse(text) as T;
}

function table(keys: KeyInfo[]): string {
  const limit = (k: KeyInfo) => (k.limits_exempt ? "exempt" : k.rate_limit_per_minute === null ? "default" : `${k.rate_limit_per_minute}/min`);
  const rows = keys.map((k) => [k.id, k.state, k.tenant, k.scopes.join(","), limit(k), k.name, k.created_at.slice(0, 19), k.expires_at?.slice(0, 19) ?? "never"]);
  const head = ["ID", "STATE", "TENANT", "SCOPES", "LIMIT", "NAME", "CREATED", "EXPIRES"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [head, ...rows].map((r) => r.map((c, i) => (c ?? "").padEnd(widths[i] ?? 0)).join("  ").trimEnd()).join("\n");
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      admin: { type: "boolean" },
      scope: { type: "string", multiple: true },
      name: { type: "string" },
      tenant: { type: "string" },
      "expires-days": { type: "string" },
      "rate-limit": { type: "string" },
      "limits-exempt": { type: "boolean" },
      namespace: { type: "string" },
    },
  });
  switch (command) {
    case "create": {
      const scopes = [...new Set([...(values.admin ? ["admin"] : []), ...(values.scope ?? [])])];
      const unknown = scopes.filter((s) => !(SCOPE_NAMES as string[]).includes(s));
      if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(", ")}`);
      if (scopes.length === 0) throw new UsageError("name at least one scope (--scope …) or --admin");
      const days = values["expires-days"];
      const rate = values["rate-limit"];
      if (rate !== undefined && !/^[1-9][0-9]*$/.test(rate)) throw new UsageError(`--rate-limit takes a whole number of requests per minute, e.g. 600 (got ${JSON.stringify(rate)})`);
      const created = await call<CreateKeyResponse>("POST", "/mlops/keys", {
        name: values.name ?? `${userInfo().username}@${hostname()}`,
        scopes: scopes as Scope[],
        ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
        expires_in_days: days === undefined ? null : Number(days),
        rate_limit_per_minute: rate === undefined ? null : Number(rate),
        limits_exempt: values["limits-exempt"] ?? false,
      });
      process.stdout.write(`${created.key}\n`);
      process.stderr.write(`key ${created.id} (tenant ${created.tenant}; ${created.scopes.join(", ")}) created; it is shown this once: store it now (e.g. export ASGARD_API_KEY=…)\n`);
      return;
    }
    case "list":
      process.stdout.write(`${table(await call<KeyInfo[]>("GET", "/mlops/keys"))}\n`);
      return;
    case "revoke": {
      const id = positionals[0];
      if (!id) throw new UsageError("name the key id to revoke (npm run keys -- list shows them)");
      const revoked = await call<KeyInfo>("DELETE", `/mlops/keys/${encodeURIComponent(id)}`);
      process.stdout.write(`key ${revoked.id} revoked at ${revoked.revoked_at}\n`);
      return;
    }
    case "bootstrap-secret": {
      const { key } = newApiKey();
      const namespace = values.namespace ?? "asgard";
      process.stdout.write(
        [
          "# The first admin key of a deployment. Apply it before the gateway starts (kubectl apply -f -),",
          "# or for compose put ASGARD_BOOTSTRAP_ADMIN_KEY in deploy/.env. Keep the key: it is not stored anywhere else.",
          "apiVersion: v1",
          "kind: Secret",
          "metadata:",
          "  name: asgard-bootstrap-key",
          `  namespace: ${namespace}`,
          "type: Opaque",
          "stringData:",
          `  BOOTSTRAP_ADMIN_KEY: ${key}`,
          "",
        ].join("\n"),
      );
      return;
    }
    case "mlflow-secret": {
      const s = generateMlflowSecrets();
      const namespace = values.namespace ?? "asgard";
      process.stdout.write(
        [
          "# MLflow's basic auth for a deployment. Apply it before MLflow starts (kubectl apply -f -), or for compose",
          "# put the commented lines in deploy/.env. admin-password is also how people sign in to the MLflow UI.",
          `# MLFLOW_ADMIN_PASSWORD=${s.admin_password}`,
          `# MLFLOW_FLASK_SECRET_KEY=${s.flask_secret_key}`,
          `# MLFLOW_TENANT_SECRET=${s.tenant_secret}`,
          "apiVersion: v1",
          "kind: Secret",
          "metadata:",
          "  name: mlflow-auth",
          `  namespace: ${namespace}`,
          "type: Opaque",
          "stringData:",
          `  admin-username: ${s.admin_username}`,
          `  admin-password: ${s.admin_password}`,
          `  flask-secret-key: ${s.flask_secret_key}`,
          `  tenant-secret: ${s.tenant_secret}`,
          "",
        ].join("\n"),
      );
      return;
    }
    default:
      throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : "name a command");
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`keys: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`keys: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
