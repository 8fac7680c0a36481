import { describe, expect, it } from "vitest";
import { CONSUMERS, EVENTS, RPC, SIGNALS, STREAMS } from "./catalog.js";
import type { EventDef } from "./catalog-types.js";
import { isValidSubject, subjectMatches, subjectsOverlap } from "./subjects.js";

const events = Object.entries(EVENTS) as Array<[string, EventDef]>;

describe("the catalog", () => {
  it("stores every event on a stream that takes in its subject", () => {
    for (const [name, def] of events) {
      expect(
        def.stream.subjects.some((s) => subjectMatches(s, def.subject)),
        `${name} (${def.subject}) is outside ${def.stream.name}`,
      ).toBe(true);
    }
  });

  it("declares families with '*' only, so subjectOf can build each member", () => {
    for (const def of [...Object.values(EVENTS), ...Object.values(SIGNALS), ...Object.values(RPC)]) {
      expect(isValidSubject(def.subject), def.subject).toBe(true);
      expect(def.subject.split("."), def.subject).not.toContain(">");
    }
  });

  it("gives every subject to one definition only", () => {
    const subjects = [...Object.values(EVENTS), ...Object.values(SIGNALS), ...Object.values(RPC)].map((d) => d.subject);
    for (const [i, a] of subjects.entries()) {
      for (const b of subjects.slice(i + 1)) expect(subjectsOverlap(a, b), `${a} and ${b} overlap`).toBe(false);
    }
  });

  it("keeps stream subjects apart (NATS refuses two streams on one subject)", () => {
    const all = Object.values(STREAMS).flatMap((s) => s.subjects.map((subject) => ({ stream: s.name, subject })));
    for (const [i, a] of all.entries()) {
      for (const b of all.slice(i + 1)) {
        expect(subjectsOverlap(a.subject, b.subject), `${a.stream} ${a.subject} / ${b.stream} ${b.subject}`).toBe(false);
      }
    }
  });

  it.each(Object.entries(CONSUMERS))("lists in consumer %s exactly the events its filter lets through", (_, consumer) => {
    const filter = consumer.filterSubject ?? ">";
    expect(consumer.stream.subjects.some((s) => subjectsOverlap(s, filter)), `${filter} is outside ${consumer.stream.name}`).toBe(true);
    const delivered = events
      .filter(([, def]) => def.stream === consumer.stream && subjectsOverlap(filter, def.subject))
      .map(([name]) => name)
      .sort();
    expect(Object.keys(consumer.events).sort()).toEqual(delivered);
    for (const [name, def] of Object.entries(consumer.events)) {
      expect(def, name).toBe(EVENTS[name as keyof typeof EVENTS]);
    }
  });
});
