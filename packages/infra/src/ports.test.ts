import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, isPortFree, preferredOrFreePort } from "./ports.js";

describe("ports", () => {
  it("finds a free port and sees it taken once something listens", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await isPortFree(port)).toBe(true);
    const server = createServer();
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      expect(await isPortFree(port)).toBe(false);
      const other = await preferredOrFreePort(port);
      expect(other).not.toBe(port);
    } finally {
      server.close();
    }
  });
});
