import { useEffect, useState } from "preact/hooks";

/**
 * The API key the user typed, kept in sessionStorage (gone with the tab; no cookies, so a
 * foreign page can never make the browser send it). Null in local mode, where none is needed.
 */
const KEY_ITEM = "asgard.apiKey";

type Listener = () => void;
const listeners = new Set<Listener>();
/** True once the gateway answered 401: the shell then asks for a key. */
let keyNeeded = false;

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_ITEM);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
  keyNeeded = false;
  notify();
}

export function markKeyNeeded(): void {
  if (keyNeeded) return;
  keyNeeded = true;
  notify();
}

function notify(): void {
  for (const l of listeners) l();
}

/** Re-renders the caller when the key or the need for one changes. */
export function useSession(): { key: string | null; needed: boolean } {
  const [, tick] = useState(0);
  useEffect(() => {
    const l = () => tick((n) => n + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return { key: apiKey(), needed: keyNeeded };
}
