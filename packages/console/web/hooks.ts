import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.js";

export interface Polled<T> {
  data: T | null;
  error: string | null;
  /** Fetches again now (after a change the user made). */
  reload: () => void;
}

/**
 * Loads `load()` and again every `everyMs` while the page is visible. `deps` restart it
 * (a filter changed). The last good data stays on screen while a refresh fails.
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, everyMs: number, deps: unknown[]): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (document.visibilityState !== "hidden") {
        try {
          setData(await loadRef.current(abort.signal));
          setError(null);
        } catch (err) {
          if (abort.signal.aborted) return;
          setError(messageOf(err));
        }
      }
      if (!abort.signal.aborted && everyMs > 0) timer = setTimeout(() => void tick(), everyMs);
    };
    void tick();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [...deps, round, everyMs]);
  return { data, error, reload: () => setRound((n) => n + 1) };
}

export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** "3 s ago", "5 min ago" for a timestamp. */
export function ago(iso: string | null): string {
  if (!iso) return "—";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}
