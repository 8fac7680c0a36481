import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { groupMembers, killGroup, procCommandLine, procEntry } from "@asgard/infra";
import { lockHolder } from "@asgard/tools";

/**
 * What `npm start` records in `<data dir>/run/` so that the next start can tell what an
 * earlier run left behind: `owner.json` for the start command itself, `<name>.json` for
 * each process it runs. A record names a process by pid *and* start time, so a reused pid
 * is never taken for ours.
 */
interface RunRecord {
  pid: number;
  pgid: number;
  startTime: number;
  command: string;
}

const OWNER = "owner";

export class RunRecords {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  remember(name: string, pid: number): void {
    const entry = procEntry(pid);
    if (!entry) return;
    const record: RunRecord = { pid, pgid: entry.pgid, startTime: entry.startTime, command: procCommandLine(pid) };
    writeFileSync(join(this.dir, `${name}.json`), JSON.stringify(record));
  }

  forget(name: string): void {
    rmSync(join(this.dir, `${name}.json`), { force: true });
  }

  /** Records whose process still runs, by name. */
  live(): Map<string, RunRecord> {
    const found = new Map<string, RunRecord>();
    for (const file of readdirSync(this.dir).filter((f) => f.endsWith(".json"))) {
      const name = file.slice(0, -".json".length);
      try {
        const record = JSON.parse(readFileSync(join(this.dir, file), "utf8")) as RunRecord;
        const now = procEntry(record.pid);
        if (now && now.startTime === record.startTime) found.set(name, record);
        // The leader died but its group lives on (MLflow's worker): still ours to clear. Only
        // for groups we created (a child's own, pgid = pid), never the group we run in.
        else if (record.pgid === record.pid && groupMembers(record.pgid).length > 0) found.set(name, record);
        else this.forget(name);
      } catch {
        this.forget(name);
      }
    }
    return found;
  }
}

/** Another start of this data directory is running: two would fight over its ports and files. */
export class AlreadyRunningError extends Error {
  constructor(pid: number, dataDir: string) {
    super(
      `Asgard is already running from ${dataDir} (npm start, pid ${pid}). Stop it first ` +
        `(Ctrl-C in its terminal, or kill ${pid}), or start this one with another ASGARD_DATA_DIR.`,
    );
    this.name = "AlreadyRunningError";
  }
}

/**
 * Makes this process the owner of `records.dir`, after killing whatever processes an
 * earlier run recorded and left running (a start that was SIGKILLed before its children
 * were tied to it, or whose children outlived it some other way). Returns what it cleared.
 */
export async function takeOverRunDir(records: RunRecords, dataDir: string): Promise<string[]> {
  const live = records.live();
  const owner = live.get(OWNER);
  if (owner && owner.pid !== process.pid) throw new AlreadyRunningError(owner.pid, dataDir);
  const cleared: string[] = [];
  for (const [name, record] of live) {
    if (name === OWNER) continue;
    killGroup(record.pgid);
    try {
      process.kill(record.pid, "SIGKILL");
    } catch {
      /* gone with its group */
    }
    cleared.push(`${name} (pid ${record.pid})`);
    records.forget(name);
  }
  if (cleared.length > 0) await waitUntilGone(live);
  records.remember(OWNER, process.pid);
  return cleared;
}

/**
 * The embedded job database is locked by the process holding it (`jobs-db.lock`). A
 * job-scheduler holding it while no start owns the data directory is an orphan of an
 * earlier run (e.g. one that predates these records): it is stopped. Any other holder is
 * named with what to do.
 */
export async function clearDatabaseLock(dataDir: string): Promise<string | null> {
  const lock = join(dataDir, "jobs-db.lock");
  const holder = await lockHolder(lock);
  if (holder === null || !procEntry(holder)) return null;
  const command = procCommandLine(holder);
  // A scheduler whose parent is a running start (one that predates the run records) is no orphan.
  const parent = procEntry(holder)?.ppid ?? 0;
  if (parent > 1 && procCommandLine(parent).includes(join("packages", "cli", "src", "start.ts"))) {
    throw new AlreadyRunningError(parent, dataDir);
  }
  if (!command.includes("job-scheduler")) {
    throw new Error(
      `the embedded job database ${join(dataDir, "jobs-db")} is locked by process ${holder} (${command || "unknown command"}), ` +
        `which is not an Asgard job-scheduler: stop it, or remove ${lock} if you are sure nothing uses the database`,
    );
  }
  process.kill(holder, "SIGKILL");
  await waitUntilGone(new Map([["job-scheduler", { pid: holder, pgid: holder, startTime: 0, command }]]));
  return `job-scheduler (pid ${holder}) holding the embedded database`;
}

async function waitUntilGone(records: Map<string, RunRecord>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ([...records.values()].every((r) => !procEntry(r.pid))) return;
    await sleep(100);
  }
}
