import { BusError } from "@asgard/bus";

/**
 * What a request is doing now, named in its answer if the caller's wait runs out first; a
 * function when the step moves on by itself (a load goes from download to build to start).
 */
export interface Progress {
  step: string | (() => string);
}

/** Time kept back for the answer to travel back to the caller: 1 s, or 5% of a short wait. */
const marginOf = (waitMs: number) => Math.min(1_000, waitMs * 0.05);

/**
 * Runs `work`, but answers UNAVAILABLE, naming the step it is in, shortly before the caller
 * stops waiting: a model still loading then reads "retry shortly" instead of a bare timeout
 * at the gateway. The work itself goes on (a load is shared with later requests).
 */
export async function answerWithin<T>(remainingMs: number, label: string, work: (progress: Progress) => Promise<T>): Promise<T> {
  const progress: Progress = { step: "starting" };
  const running = work(progress);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      running.catch(() => undefined); // settles after nobody waits for it
      reject(new BusError("UNAVAILABLE", `${label}: no answer within the ${Math.max(0, Math.round(remainingMs))} ms the caller waits (${typeof progress.step === "function" ? progress.step() : progress.step}); retry shortly`));
    }, Math.max(0, remainingMs - marginOf(remainingMs)));
  });
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}
