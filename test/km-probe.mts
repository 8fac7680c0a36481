import { Deployment } from "kubernetes-models/apps/v1";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
const good = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } } };
new Deployment(good as any).validate(); console.log("good ok");
for (const bad of [
  { ...good, spec: { ...good.spec, replicas: "3" } },
  { ...good, spec: { ...good.spec, bogus: 1 } },
  { ...good, spec: { ...good.spec, template: { ...good.spec.template, spec: { containers: [{ name: "c", image: "i", livenessProbe: { httpGet: { path: "/x" } } }] } } } },
]) { try { new Deployment(bad as any).validate(); console.log("bad accepted", JSON.stringify(bad).slice(0,200)); } catch (e) { console.log("rejected:", (e as Error).message.slice(0, 200)); } }
const so = new ScaledObject({ metadata: { name: "s" }, spec: { scaleTargetRef: { name: "x" }, triggers: [{ type: "nats-jetstream", metadata: { stream: "TRAINING" } }] } } as any);
so.validate(); console.log("so ok");
try { new ScaledObject({ metadata: { name: "s" }, spec: { triggers: [] } } as any).validate(); console.log("bad so accepted"); } catch (e) { console.log("so rejected", (e as Error).message.slice(0,200)); }
