import { Parser } from "@asyncapi/parser";
import { describe, expect, it } from "vitest";
import { buildAsyncApiDocument } from "./asyncapi.js";
import { EVENTS } from "./catalog.js";

describe("the AsyncAPI document of the public events", () => {
  it("is a valid AsyncAPI 3 document: no errors and no warnings from @asyncapi/parser", async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(buildAsyncApiDocument()));
    // Severity 0 is an error, 1 a warning; hints (2, 3) are style suggestions.
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.path.join(".")}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe("3.0.0");
  });

  it("has one channel and one send operation per public event, and nothing else", async () => {
    const { document } = await new Parser().parse(JSON.stringify(buildAsyncApiDocument()));
    const publicSubjects = Object.values(EVENTS).filter((d) => d.public).map((d) => d.subject);
    const titles = document?.allMessages().all().map((m) => m.title());
    expect(titles?.sort()).toEqual([...publicSubjects].sort());
    expect(document?.operations().all().every((op) => op.action() === "send")).toBe(true);
    expect(document?.operations().all()).toHaveLength(publicSubjects.length);
  });

  it("names a wildcard segment as a parameter: job.log.* is job.log.{job_id}", () => {
    const doc = buildAsyncApiDocument();
    expect(doc.channels.jobLog).toMatchObject({ address: "job.log.{job_id}", parameters: { job_id: {} } });
  });

  it("carries each payload's schema as the catalog declares it", () => {
    const doc = buildAsyncApiDocument();
    const registered = doc.components.messages.ModelRegistered?.payload as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(registered.properties)).toEqual(expect.arrayContaining(["event_id", "model_name", "version", "tenant"]));
    expect(registered.required).toContain("event_id");
  });
});
