import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { deployNatsAuthConfig, NATS_USERS, natsPasswordEnv, newNatsPassword, type NatsUser } from "@asgard/contracts";
import { findNatsServer } from "@asgard/infra";
import { byKind, DEPLOY, find, podOf, renderKustomization, ROOT, SERVICES } from "./support.js";

const AUTH_FILES = ["deploy/compose/nats-auth.conf", "deploy/k8s/base/nats-auth.conf"];
const SECRET = "asgard-nats-users";

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}

describe("NATS users in deploy/", () => {
  it("commits the permission configs exactly as the catalog generates them", async () => {
    for (const file of AUTH_FILES) {
      const text = await readFile(join(ROOT, file), "utf8");
      expect(text === deployNatsAuthConfig(), `${file} is stale: run npm run nats-secrets -- config`).toBe(true);
    }
  });

  it("is a config nats-server accepts once the passwords are in its environment", async () => {
    const env = Object.fromEntries(NATS_USERS.map((u) => [natsPasswordEnv(u), newNatsPassword()]));
    const { stdout, stderr } = await promisify(execFile)(await findNatsServer(), ["-c", join(ROOT, AUTH_FILES[0]!), "-t"], { env: { PATH: process.env.PATH, ...env } });
    expect(`${stdout}${stderr}`).toMatch(/is valid/);
  });

  it("compose: nats-server gets every password and the config; each service connects as itself", async () => {
    const compose = parseYaml(await readFile(join(DEPLOY, "compose.yaml"), "utf8"), { merge: true }) as { services: Record<string, ComposeService> };
    const nats = compose.services.nats!;
    expect(nats.command).toContain("--config=/etc/nats/auth.conf");
    expect(nats.volumes).toContain("./compose/nats-auth.conf:/etc/nats/auth.conf:ro");
    for (const user of NATS_USERS) expect(nats.environment?.[natsPasswordEnv(user)], user).toMatch(new RegExp(`^\\$\\{${natsPasswordEnv(user)}:\\?`));
    for (const service of SERVICES) {
      const env = compose.services[service]?.environment ?? {};
      expect(env.NATS_USER, service).toBe(service);
      expect(env.NATS_PASSWORD, service).toMatch(new RegExp(`^\\$\\{${natsPasswordEnv(service as NatsUser)}:\\?`));
    }
    const example = await readFile(join(DEPLOY, "env.example"), "utf8");
    for (const user of NATS_USERS) expect(example, user).toContain(`${natsPasswordEnv(user)}=`);
  });

  it("Kubernetes: nats-server reads every password from the Secret; each service only its own", async () => {
    const objects = await renderKustomization(join(DEPLOY, "k8s", "overlays", "example"));
    const auth = find(objects, "ConfigMap", "nats-auth") as unknown as { data: Record<string, string> };
    expect(auth.data["auth.conf"]).toBe(deployNatsAuthConfig());
    const conf = (find(objects, "ConfigMap", "nats-config") as unknown as { data: Record<string, string> }).data["nats.conf"] ?? "";
    expect(conf).toMatch(/^include auth\.conf$/m);
    const nats = podOf(find(objects, "StatefulSet", "nats")).spec.containers[0] as unknown as { envFrom?: Array<{ secretRef?: { name: string } }> };
    expect(nats.envFrom).toEqual([{ secretRef: { name: SECRET } }]);
    for (const deployment of byKind(objects, "Deployment").filter((d) => (SERVICES as readonly string[]).includes(d.metadata.name))) {
      const service = deployment.metadata.name;
      const env = podOf(deployment).spec.containers[0]?.env ?? [];
      expect(env.find((e) => e.name === "NATS_USER")?.value, service).toBe(service);
      expect(env.find((e) => e.name === "NATS_PASSWORD")?.valueFrom, service).toEqual({
        secretKeyRef: { name: SECRET, key: natsPasswordEnv(service as NatsUser) },
      });
    }
  });
});
