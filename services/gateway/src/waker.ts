/** Why a {@link Waker.wait} returned. */
export type WakeReason = "wake" | "timeout" | "abort";

/**
 * A wait that ends early on `wake()`. A wake-up that arrives while nobody waits is kept for
 * the next wait, so a signal between two waits is never lost.
 */
export class Waker {
  #pending = false;
  #resolve: ((reason: WakeReason) => void) | null = null;

  wake(): void {
    if (this.#resolve) this.#resolve("wake");
    else this.#pending = true;
  }

  wait(ms: number, signal: AbortSignal): Promise<WakeReason> {
    if (signal.aborted) return Promise.resolve("abort");
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve("wake");
    }
    return new Promise<WakeReason>((resolve) => {
      const finish = (reason: WakeReason) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#resolve = null;
        resolve(reason);
      };
      const onAbort = () => finish("abort");
      const timer = setTimeout(() => finish("timeout"), ms);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#resolve = finish;
    });
  }
}
