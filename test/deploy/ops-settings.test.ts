import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { byKind, declaredVariables, DEPLOY, find, podOf, readYaml, renderKustomization, SERVICES, type K8sObject } from "./support.js";

/** Services with their own /metrics listener, and those that declare JetStream streams. */
const withMetricsPort = SERVICES.filter((s) => declaredVariables(s).has("METRICS_PORT"));
const declaringStreams = SERVICES.filter((s) => declaredVariables(s).has("NATS_STREAM_REPLICAS"));

interface ComposeFile {
  services: Record<string, { environment?: Record<string, string | number | boolean | null> }>;
}

let overlay: K8sObject[];
let compose: ComposeFile;

beforeAll(async () => {
  overlay = await renderKustomization(join(DEPLOY, "k8s", "overlays", "example"));
  compose = await readYaml<ComposeFile>(join(DEPLOY, "compose.yaml"));
});

function container(name: string) {
  const c = podOf(find(overlay, "Deployment", name)).spec.containers[0];
  if (!c) throw new Error(`Deployment ${name} has no container`);
  return c;
}

describe("metrics address and stream replicas in deploy/", () => {
  it("knows which services these settings concern", () => {
    expect(withMetricsPort).toEqual(["job-scheduler", "status", "registry", "inference", "python-runner"]);
    expect(declaringStreams).toEqual(["gateway", "job-scheduler", "registry", "inference", "python-runner"]);
  });

  it("Kubernetes: every /metrics listener binds the pod's address on a named port that Prometheus may reach", () => {
    const scrape = find(overlay, "NetworkPolicy", "metrics-scrape").spec as {
      podSelector: { matchExpressions: Array<{ key: string; values: string[] }> };
      ingress: Array<{ ports: Array<{ port: number }> }>;
    };
    for (const name of withMetricsPort) {
      const c = container(name);
      const env = (key: string) => c.env?.find((e) => e.name === key)?.value;
      // The pod's own address (downward API), never 0.0.0.0.
      expect(c.env?.find((e) => e.name === "METRICS_HOST")?.valueFrom?.fieldRef?.fieldPath, name).toBe("status.podIP");
      const port = Number(env("METRICS_PORT"));
      expect(c.ports?.find((p) => p.name === "metrics")?.containerPort, name).toBe(port);
      expect(scrape.podSelector.matchExpressions[0]?.values, name).toContain(podOf(find(overlay, "Deployment", name)).labels["app.kubernetes.io/name"]);
      expect(scrape.ingress.flatMap((r) => r.ports.map((p) => p.port)), name).toContain(port);
    }
  });

  it("Kubernetes: every service that declares streams replicates them on each node of the NATS StatefulSet", () => {
    const nodes = (find(overlay, "StatefulSet", "nats").spec as { replicas: number }).replicas;
    const configs = byKind(overlay, "ConfigMap").filter((c) => c.metadata.name.startsWith("asgard-config"));
    expect(configs).toHaveLength(1);
    const config = configs[0] as unknown as { metadata: { name: string }; data: Record<string, string> };
    expect(Number(config.data.NATS_STREAM_REPLICAS)).toBe(nodes);
    for (const name of declaringStreams) {
      const ref = container(name).env?.find((e) => e.name === "NATS_STREAM_REPLICAS")?.valueFrom?.configMapKeyRef;
      // One shared value: services declaring the same stream with different counts would keep changing it.
      expect(ref, name).toEqual({ name: config.metadata.name, key: "NATS_STREAM_REPLICAS" });
    }
  });

  it("compose: one NATS server, so one replica per stream; /metrics reachable on the compose network", () => {
    for (const name of withMetricsPort) expect(compose.services[name]?.environment?.METRICS_HOST, name).toBe("0.0.0.0");
    for (const name of declaringStreams) expect(compose.services[name]?.environment?.NATS_STREAM_REPLICAS, name).toBe("1");
  });
});
