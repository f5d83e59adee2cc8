/**
 * How many scoring requests (/v1/perplexity, completions' echo + logprobs, /tokenize of a text)
 * may be in progress or waiting at once. Block work runs one computation at a time (yield.ts),
 * so the others wait holding their tokenized texts: without a bound, a flood of them would
 * grow the server's memory with the flood. Past the bound: 429 with Retry-After, the same
 * answer as a full batch.
 */
import { EngineBusyError } from "./engine.ts";

/**
 * Characters of text per slot: a request whose texts are longer takes one more slot per started
 * WORK_SLOT_CHARS, so a flood of 1 MB texts runs one at a time (16 slots) while short ones pass
 * many at once. Each long text costs the main thread tens of milliseconds (parsing, moving it to
 * the tokenizer worker and back, the answer's JSON): twenty at once held /health for seconds.
 */
export const WORK_SLOT_CHARS = 65_536;

/** The slots a request with `chars` characters of text takes. */
export function slotsFor(chars: number): number {
  return 1 + Math.floor(chars / WORK_SLOT_CHARS);
}

export interface WorkSlots {
  /**
   * Run `work` in `weight` slots (default 1; at most all of them), or throw a 429 when too few
   * are free.
   */
  run<T>(work: () => Promise<T>, weight?: number): Promise<T>;
  /** Slots taken now. */
  inUse(): number;
}

export function createWorkSlots(max: number): WorkSlots {
  let used = 0;
  return {
    async run(work, weight = 1) {
      const w = Math.min(Math.max(1, weight), Math.max(1, max));
      if (used + w > max) {
        throw new EngineBusyError(
          1,
          `The server is already scoring requests that take ${used} of its ${max} work slots ` +
            `(MAX_PENDING_WORK); this one needs ${w}; retry later`,
        );
      }
      used += w;
      try {
        return await work();
      } finally {
        used -= w;
      }
    },
    inUse: () => used,
  };
}
