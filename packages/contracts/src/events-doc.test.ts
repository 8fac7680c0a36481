import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EVENTS } from "./catalog.js";
import { renderEventsDoc } from "./events-doc.js";

describe("docs/events.md", () => {
  it("is the rendering of the public event catalog", async () => {
    const committed = await readFile(join(import.meta.dirname, "..", "..", "..", "docs", "events.md"), "utf8");
    expect(committed).toBe(renderEventsDoc());
  });

  it("documents each public subject with a JSON Schema", () => {
    const doc = renderEventsDoc();
    for (const def of Object.values(EVENTS).filter((d) => d.public)) {
      expect(doc).toContain(`## \`${def.subject}\``);
    }
    expect(doc).toContain('"event_id"');
  });
});
