import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writePrivateFile } from "./private-file.js";

describe("writePrivateFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "private-file-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("replaces a file that was readable by others with one only its owner reads, leaving no scratch", async () => {
    const path = join(dir, "secrets.json");
    await writeFile(path, "old", { mode: 0o644 });
    await writePrivateFile(path, "new");
    expect(await readFile(path, "utf8")).toBe("new");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["secrets.json"]);
  });

  it("with exclusive, creates the file 0600 once and refuses to overwrite it", async () => {
    const path = join(dir, "once.json");
    await writePrivateFile(path, "first", { exclusive: true });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await expect(writePrivateFile(path, "second", { exclusive: true })).rejects.toMatchObject({ code: "EEXIST" });
    expect(await readFile(path, "utf8")).toBe("first");
  });
});
