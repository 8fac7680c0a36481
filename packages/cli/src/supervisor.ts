import { setTimeout as sleep } from "node:timers/promises";
import { spawnManaged, type ManagedProcess } from "@asgard/infra";

export interface SupervisedOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  onLine: (line: string) => void;
  onRestart: (attempt: number, code: number | null) => void;
}

/**
 * Keeps one service process alive: a crash is followed by a restart after a backoff that
 * grows to 30 s, and resets once the process has stayed up for a minute.
 */
export function supervise(options: SupervisedOptions): { stop(): Promise<void> } {
  let current: ManagedProcess | null = null;
  let stopping = false;
  let failures = 0;
  const loop = async () => {
    while (!stopping) {
      const startedAt = Date.now();
      current = spawnManaged({ ...options });
      const code = await current.exited;
      if (stopping) return;
      failures = Date.now() - startedAt > 60_000 ? 1 : failures + 1;
      options.onRestart(failures, code);
      await sleep(Math.min(30_000, 500 * 2 ** (failures - 1)));
    }
  };
  const running = loop();
  return {
    async stop() {
      stopping = true;
      await current?.stop(10_000);
      await running;
    },
  };
}
