import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, spawnManaged, type ManagedProcess } from "@asgard/infra";

/** Starts one service's real `main.ts` as its own process, as `npm start` does. */
export function startService(name: string, env: Record<string, string>, logDir: string): ManagedProcess {
  return spawnManaged({
    name,
    command: process.execPath,
    args: ["--import", "tsx", join(process.cwd(), "services", name, "src", "main.ts")],
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    logFile: join(logDir, `${name}.log`),
  });
}

export async function waitFor(url: string, check: (res: Response) => Promise<boolean> | boolean, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(url);
      if (await check(res)) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${url} never satisfied the check`);
}

export { freePort };
