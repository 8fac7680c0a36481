import { randomBytes } from "node:crypto";
import { chmod, lchown, lstat, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A short random suffix for scratch names that must not collide across processes. */
export function randomSuffix(): string {
  return randomBytes(6).toString("hex");
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes through a scratch file and rename(), so a reader sees the old or the new content, never half. */
export async function writeAtomic(path: string, content: string): Promise<void> {
  const scratch = `${path}.${process.pid}-${randomSuffix()}.part`;
  try {
    await writeFile(scratch, content);
    await rename(scratch, path);
  } catch (err) {
    await rm(scratch, { force: true });
    throw err;
  }
}

/** Apparent size of a tree in bytes; symlinks count as themselves, never their targets. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else total += await lstat(path).then((s) => s.size, () => 0);
  }
  return total;
}

/**
 * Takes a tree back from the user a sandboxed build ran as: every entry (symlinks themselves,
 * never their targets) goes to this process's user and group, and loses group and other write
 * and the setuid, setgid and sticky bits, so a job (which runs as that user) can write nothing
 * in it. Ownership is left alone unless we are root (otherwise the sandbox mapped its user
 * onto ours); the mode bits are cleared either way.
 */
export async function reclaimTree(root: string): Promise<void> {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const walk = async (path: string): Promise<void> => {
    if (uid === 0 && gid !== undefined) await lchown(path, uid, gid);
    const info = await lstat(path);
    if (info.isSymbolicLink()) return;
    await chmod(path, info.mode & 0o755);
    if (!info.isDirectory()) return;
    for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(root);
}
