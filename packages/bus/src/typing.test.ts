import {
  CONSUMERS,
  EVENTS,
  SIGNALS,
  jobCancelSubject,
  jobLogSubject,
  subjectOf,
  type JobLog,
  type ModelAliasChanged,
  type ModelRegistered,
  type RegistrationFailed,
} from "@asgard/contracts";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { ConsumerHandlers, MessageHandler } from "./consume.js";
import type { PublishOptions } from "./publish.js";
import type { SignalPublishOptions } from "./signals.js";
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

describe("the subject of a publish on a family", () => {
  it("is typed as a member of that family", () => {
    expectTypeOf<PublishOptions<typeof EVENTS.jobLog.subject>["subject"]>().toEqualTypeOf<`job.log.${string}` | undefined>();
    expectTypeOf<SignalPublishOptions<typeof SIGNALS.jobCancel.subject>["subject"]>().toEqualTypeOf<`job.cancel.${string}` | undefined>();
    const member: PublishOptions<typeof EVENTS.jobLog.subject> = { subject: jobLogSubject("j1") };
    const claim: PublishOptions<typeof EVENTS.registrationClaim.subject> = { subject: subjectOf(EVENTS.registrationClaim, "t1") };
    // @ts-expect-error a cancel subject is no member of the job.log family
    const stranger: PublishOptions<typeof EVENTS.jobLog.subject> = { subject: jobCancelSubject("j1") };
    // @ts-expect-error a concrete event is published on its own subject only
    const elsewhere: PublishOptions<typeof EVENTS.runCompleted.subject> = { subject: "run.other" };
    expect([member, claim, stranger, elsewhere].map((o) => o.subject)).toEqual(["job.log.j1", "registry.claim.t1", "job.cancel.j1", "run.other"]);
  });
});
