/**
 * How many scoring requests (/v1/perplexity, completions' echo + logprobs, /tokenize of a text)
 * may be in progress or waiting at once. Block work runs one computation at a time (yield.ts),
 * so the others wait holding their tokenized texts: without a bound, a flood of them would
 * grow the server's memory with the flood. Past the bound: 429 with Retry-After, the same
 * answer as a full batch.
 */
import { EngineBusyError } from "./engine.ts";

export interface WorkSlots {
  /** Run `work` in a slot, or throw a 429 when every slot is taken. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Slots taken now. */
  inUse(): number;
}

export function createWorkSlots(max: number): WorkSlots {
  let used = 0;
  return {
    async run(work) {
      if (used >= max) {
        throw new EngineBusyError(
          1,
          `The server is already scoring ${used} requests, its limit (MAX_PENDING_WORK); ` +
            "retry later",
        );
      }
      used++;
      try {
        return await work();
      } finally {
        used--;
      }
    },
    inUse: () => used,
  };
}
