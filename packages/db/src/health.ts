import { sql, type Kysely } from "kysely";

/** Outcome of {@link Database.health}. */
export interface DatabaseHealth {
  available: boolean;
  /** Round trip of `SELECT 1` in ms; null when it failed. */
  latencyMs: number | null;
  /** Why it failed (password masked); null when available. */
  error: string | null;
}

/** Runs `SELECT 1`, giving up after `timeoutMs`; never throws. */
export async function checkHealth(
  db: Kysely<any>,
  timeoutMs: number,
  describeError: (err: unknown) => string,
): Promise<DatabaseHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to SELECT 1 within ${timeoutMs} ms`)), timeoutMs);
  });
  const probe = sql`select 1`.execute(db);
  // The probe keeps running after a timeout; its late failure must not become unhandled.
  probe.catch(() => undefined);
  try {
    await Promise.race([probe, timeout]);
    return { available: true, latencyMs: Math.round((performance.now() - started) * 100) / 100, error: null };
  } catch (err) {
    return { available: false, latencyMs: null, error: describeError(err) };
  } finally {
    clearTimeout(timer);
  }
}
