import { randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes a file only its owner may read (mode 0600): passwords, secrets, configs holding them.
 * The text goes to a new scratch file created 0600 and is then renamed into place, so no
 * reader ever sees it with wider permissions (a mode given to writeFile applies only when it
 * creates the file) nor half written. `exclusive`: fail with EEXIST when `path` exists.
 */
export async function writePrivateFile(path: string, text: string, opts: { exclusive?: boolean } = {}): Promise<void> {
  if (opts.exclusive) {
    await writeFile(path, text, { mode: 0o600, flag: "wx" });
    return;
  }
  const scratch = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    await writeFile(scratch, text, { mode: 0o600, flag: "wx" });
    await rename(scratch, path);
  } finally {
    await rm(scratch, { force: true });
  }
}
