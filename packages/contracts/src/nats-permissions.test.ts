import { describe, expect, it } from "vitest";
import type { ConsumerDef, EventDef, KvDef, RpcDef, SignalDef, StreamDef } from "./catalog-types.js";
import { CONSUMERS, EVENTS, KV, RPC, SIGNALS, STREAMS } from "./catalog.js";
import {
  natsPermissions,
  natsStreamOwners,
  NATS_USERS,
  READER_USER,
  SERVICE_ROLES,
  type NatsRole,
  type ServiceUser,
} from "./nats-permissions.js";
import { subjectMatches } from "./subjects.js";

const roles = Object.values(SERVICE_ROLES) as NatsRole[];
const someRole = (pick: (r: NatsRole) => readonly unknown[], def: unknown) => roles.some((r) => pick(r).includes(def));
const allows = (patterns: readonly string[], subject: string) => patterns.some((p) => subjectMatches(p, subject));

describe("the NATS permission map", () => {
  it("gives every catalog entry an owner, so no subject is left out of the generated permissions", () => {
    for (const [name, def] of Object.entries(EVENTS) as Array<[string, EventDef]>) {
      expect(someRole((r) => r.publishes, def), `no service publishes EVENTS.${name}`).toBe(true);
    }
    for (const [name, def] of Object.entries(CONSUMERS) as Array<[string, ConsumerDef]>) {
      expect(someRole((r) => r.consumes, def), `no service consumes CONSUMERS.${name}`).toBe(true);
    }
    for (const [name, def] of Object.entries(SIGNALS) as Array<[string, SignalDef]>) {
      expect(someRole((r) => r.publishesSignals, def), `no service publishes SIGNALS.${name}`).toBe(true);
      expect(someRole((r) => r.subscribesSignals, def), `no service subscribes to SIGNALS.${name}`).toBe(true);
    }
    for (const [name, def] of Object.entries(RPC) as Array<[string, RpcDef]>) {
      expect(someRole((r) => r.serves, def), `no service serves RPC.${name}`).toBe(true);
      expect(someRole((r) => r.calls, def), `no service calls RPC.${name}`).toBe(true);
    }
  });

  it("gives every stream and bucket exactly one owner, and its other users no say over it", () => {
    const owners = natsStreamOwners();
    const streams = [...(Object.values(STREAMS) as StreamDef[]).map((s) => s.name), ...(Object.values(KV) as KvDef[]).map((b) => `KV_${b.bucket}`)];
    expect([...owners.keys()].sort()).toEqual(streams.sort());
    for (const [name, def] of Object.entries(STREAMS) as Array<[string, StreamDef]>) {
      expect(roles.filter((r) => r.declares.includes(def)), `owners of STREAMS.${name}`).toHaveLength(1);
    }
    for (const [name, def] of Object.entries(KV) as Array<[string, KvDef]>) {
      expect(roles.filter((r) => r.buckets.includes(def)), `owners of KV.${name}`).toHaveLength(1);
    }
    for (const [user, role] of Object.entries(SERVICE_ROLES) as Array<[ServiceUser, NatsRole]>) {
      expect(role.uses.filter((s) => role.declares.includes(s)), `${user} both owns and uses`).toEqual([]);
      expect(role.readsBuckets.filter((b) => role.buckets.includes(b)), `${user} both owns and reads`).toEqual([]);
      const { publish } = natsPermissions(user);
      for (const [stream, owner] of owners) {
        for (const op of ["CREATE", "UPDATE", "DELETE", "PURGE"]) {
          expect(allows(publish.allow, `$JS.API.STREAM.${op}.${stream}`), `${user} ${op} ${stream}`).toBe(owner === user);
        }
        const reads = owner === user || role.uses.some((s) => s.name === stream) || role.readsBuckets.some((b) => `KV_${b.bucket}` === stream);
        expect(allows(publish.allow, `$JS.API.STREAM.INFO.${stream}`), `${user} INFO ${stream}`).toBe(reads);
      }
      // Writing a bucket's keys is its owner's alone.
      for (const b of Object.values(KV) as KvDef[]) {
        expect(allows(publish.allow, `$KV.${b.bucket}.k`), `${user} writes ${b.bucket}`).toBe(owners.get(`KV_${b.bucket}`) === user);
      }
    }
  });

  it("has each consumer's stream owned or awaited by the service that consumes it", () => {
    for (const [user, role] of Object.entries(SERVICE_ROLES) as Array<[ServiceUser, NatsRole]>) {
      for (const c of role.consumes) expect([...role.declares, ...role.uses], `${user} consumes ${c.durable}`).toContain(c.stream);
    }
  });

  it("lets each service publish exactly the platform subjects its role names", () => {
    const platformSubjects = [...Object.values(EVENTS), ...Object.values(SIGNALS), ...Object.values(RPC)].map((d) => d.subject);
    for (const [user, role] of Object.entries(SERVICE_ROLES) as Array<[keyof typeof SERVICE_ROLES, NatsRole]>) {
      const { publish } = natsPermissions(user);
      const named = [...role.publishes, ...role.publishesSignals, ...role.calls].map((d) => d.subject);
      for (const subject of platformSubjects) {
        expect(allows(publish.allow, subject), `${user} publishing ${subject}`).toBe(named.includes(subject));
      }
    }
  });

  it("lets a consumer declare, pull and ack its own durables only, and every role ensure what it consumes", () => {
    for (const [user, role] of Object.entries(SERVICE_ROLES) as Array<[keyof typeof SERVICE_ROLES, NatsRole]>) {
      const { publish } = natsPermissions(user);
      for (const c of role.consumes) {
        expect(allows(publish.allow, `$JS.API.CONSUMER.MSG.NEXT.${c.stream.name}.${c.durable}`), `${user} pulls ${c.durable}`).toBe(true);
        expect(allows(publish.allow, `$JS.API.CONSUMER.CREATE.${c.stream.name}.${c.durable}.${c.filterSubject}`), `${user} creates ${c.durable}`).toBe(true);
        expect(allows(publish.allow, `$JS.ACK.${c.stream.name}.${c.durable}.1.2.3.4.5`), `${user} acks ${c.durable}`).toBe(true);
      }
      for (const c of Object.values(CONSUMERS) as ConsumerDef[]) {
        if (role.consumes.includes(c)) continue;
        expect(allows(publish.allow, `$JS.API.CONSUMER.MSG.NEXT.${c.stream.name}.${c.durable}`), `${user} pulls ${c.durable}`).toBe(false);
      }
    }
  });

  it("keeps each user's replies in its own inbox", () => {
    for (const user of Object.keys(SERVICE_ROLES) as ServiceUser[]) {
      const { subscribe } = natsPermissions(user);
      expect(allows(subscribe.allow, `_INBOX_${user}.abc.1`), user).toBe(true);
      expect(allows(subscribe.allow, "_INBOX.abc.1"), user).toBe(false);
      for (const other of NATS_USERS.filter((o) => o !== user)) expect(allows(subscribe.allow, `_INBOX_${other}.abc.1`), `${user} reads ${other}'s replies`).toBe(false);
    }
  });

  it("gives the read-only user the public events to subscribe to and nothing to publish", () => {
    const { publish, subscribe, allowResponses } = natsPermissions(READER_USER);
    expect(allowResponses).toBe(false);
    for (const def of Object.values(EVENTS) as EventDef[]) {
      expect(allows(subscribe.allow, def.subject.replace("*", "x")), def.subject).toBe(def.public);
    }
    expect(allows(subscribe.allow, "$JS.API.INFO")).toBe(false);
    // An empty allow-list would allow everything: the deny of `>` is what forbids.
    expect(publish).toEqual({ allow: [], deny: [">"] });
  });
});
