import type { ConsumerDef, StreamDef } from "@asgard/contracts";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { changedFields, consumerConfig, streamConfig } from "./streams.js";

const stream: StreamDef = {
  name: "S",
  subjects: ["s.>"],
  retention: "workqueue",
  storage: "memory",
  maxAgeMs: 60_000,
  duplicateWindowMs: 2_000,
  description: "test",
};

describe("streamConfig", () => {
  it("converts milliseconds to nanoseconds and maps the enums", () => {
    expect(streamConfig(stream)).toMatchObject({
      name: "S",
      subjects: ["s.>"],
      retention: "workqueue",
      storage: "memory",
      max_age: 60_000_000_000,
      max_bytes: -1,
      duplicate_window: 2_000_000_000,
    });
  });

  it("declares one replica unless the deployment asks for more", () => {
    expect(streamConfig(stream).num_replicas).toBe(1);
    expect(streamConfig(stream, 3).num_replicas).toBe(3);
  });

  it("uses the server's 'unlimited' values when no limit is declared", () => {
    const { maxAgeMs: _unused, ...unlimited } = stream;
    expect(streamConfig({ ...unlimited, retention: "limits", storage: "file" })).toMatchObject({
      retention: "limits",
      storage: "file",
      max_age: 0,
      max_bytes: -1,
    });
  });
});

describe("consumerConfig", () => {
  const consumer: ConsumerDef = {
    stream,
    durable: "d",
    // Which events a consumer receives is ours to know; the server is told the filter only.
    events: { a: { subject: "s.a", schema: z.object({}), stream, public: false, schemaVersion: 1, description: "a" } },
    ackWaitMs: 1_500,
    maxDeliver: 5,
    maxAckPending: 7,
    deliverPolicy: "new",
    description: "test consumer",
  };

  it("sets every option on purpose", () => {
    expect(consumerConfig({ ...consumer, filterSubject: "s.a" })).toEqual({
      durable_name: "d",
      ack_policy: "explicit",
      ack_wait: 1_500_000_000,
      max_deliver: 5,
      max_ack_pending: 7,
      deliver_policy: "new",
      replay_policy: "instant",
      description: "test consumer",
      filter_subject: "s.a",
    });
  });

  it("leaves the filter out when none is declared", () => {
    expect(consumerConfig(consumer)).not.toHaveProperty("filter_subject");
  });
});

describe("changedFields", () => {
  it("names the fields that differ and ignores absent-versus-empty", () => {
    expect(changedFields({ a: 1, b: [1, 2], c: "" }, { a: 1, b: [1, 3] })).toEqual(["b"]);
  });
});
