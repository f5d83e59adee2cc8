/**
 * A generation request as the engine takes it (Job), what it hands back per token
 * (SampledToken), and the request as the engine holds it (Stream): apart from engine.ts so
 * that the batch helpers it uses can name them without importing it.
 */
import type { ModelState } from "../shared/model.ts";
import type { Prng } from "../shared/prng.ts";
import type { SampleOptions } from "../shared/sample.ts";

export interface SampledToken {
  id: number;
  /** log p(id) under the model (temperature 1, no truncation). */
  logprob: number;
  /** The most likely tokens at this position as [id, logprob], when asked for. */
  top?: [number, number][];
}

export interface Job {
  /** Context ids; all but the last are read as the prompt, the last is the first step's input. */
  context: Int32Array;
  sampling: SampleOptions;
  seed: number;
  /** How many most likely alternatives to report per token (0: none). */
  topLogprobs?: number;
  signal?: AbortSignal;
  /** Called per sampled token; return false to end the generation. */
  onToken(token: SampledToken): boolean;
}

/** How a job ended: it said stop, its client left, or the engine failed. */
export type JobEnd = "finished" | "aborted";

/** A job as the engine holds it, from submission to its end. */
export interface Stream {
  job: Job;
  prng: Prng;
  input: number;
  /** The prompt's state while waiting to join the batch, [1,H] per layer. */
  joining?: ModelState;
  /** Prompt ids read into `joining` so far. */
  read: number;
  done: (end: JobEnd) => void;
  fail: (err: Error) => void;
  ended: boolean;
}
