import { CONSUMERS, type JobLog, type ModelAliasChanged, type ModelRegistered, type RegistrationFailed } from "@asgard/contracts";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { ConsumerHandlers, MessageHandler } from "./consume.js";
import type { ConsumedMessage } from "./types.js";

// The type assertions here are checked by the workspace type-check (`tsc`), which `npm test` runs first.
type Registrations = ConsumerHandlers<typeof CONSUMERS.schedulerRegistrations>;

describe("ConsumerHandlers", () => {
  it("has one entry per event of the consumer, named as in the catalog", () => {
    expectTypeOf<keyof Registrations>().toEqualTypeOf<"modelRegistered" | "modelAliasChanged" | "registrationFailed">();
    expectTypeOf<keyof ConsumerHandlers<typeof CONSUMERS.schedulerLogs>>().toEqualTypeOf<"jobLog">();
    const handlers: Registrations = { modelRegistered: null, modelAliasChanged: null, registrationFailed: null };
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(CONSUMERS.schedulerRegistrations.events).sort());
  });

  it("types each handler with its own event's payload", () => {
    expectTypeOf<Registrations["modelRegistered"]>().toEqualTypeOf<MessageHandler<ModelRegistered> | null>();
    expectTypeOf<Registrations["modelAliasChanged"]>().toEqualTypeOf<MessageHandler<ModelAliasChanged> | null>();
    expectTypeOf<Registrations["registrationFailed"]>().toEqualTypeOf<MessageHandler<RegistrationFailed> | null>();
    expectTypeOf<ConsumerHandlers<typeof CONSUMERS.schedulerLogs>["jobLog"]>().toEqualTypeOf<MessageHandler<JobLog> | null>();
  });

  it("rejects a map that misses an event or handles one with another's payload", () => {
    const failed = async (msg: ConsumedMessage<RegistrationFailed>) => void msg.data.error;
    // @ts-expect-error registrationFailed is neither handled nor declared ignored (null)
    const incomplete: Registrations = { modelRegistered: null, modelAliasChanged: null };
    // @ts-expect-error a registration failure carries no version: it cannot handle model.registered
    const crossed: Registrations = { modelRegistered: failed, modelAliasChanged: null, registrationFailed: failed };
    // @ts-expect-error no event of this consumer is called so
    const unknown: Registrations = { modelRegistered: null, modelAliasChanged: null, registrationFailed: null, jobLog: null };
    expect([incomplete, crossed, unknown].map((h) => Object.keys(h).length)).toEqual([2, 3, 4]);
  });
});
