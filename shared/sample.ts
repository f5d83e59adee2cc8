/** Drawing the next token from log-probabilities: temperature, top-k, top-p, seeded. */
import type { Prng } from "./prng.ts";

export interface SampleOptions {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1: all). */
  topP?: number;
  /** Token ids never to draw (e.g. `<unk>`). */
  exclude?: readonly number[];
}

let scratch = new Float64Array(0);

/**
 * Draw one id from logProbs [V] (natural log, normalised or not). Runs once per generated
 * token, so it avoids sorting objects: top-k and top-p become one weight threshold found on
 * a natively sorted copy of the weights, and plain sampling is a single pass.
 */
export function sampleToken(logProbs: Float32Array, opts: SampleOptions, prng: Prng): number {
  const v = logProbs.length;
  // One weight buffer reused across calls (this runs once per generated token).
  if (scratch.length < v) scratch = new Float64Array(v);
  const w = scratch.subarray(0, v);
  let max = -Infinity, best = 0;
  for (let i = 0; i < v; i++) if (logProbs[i]! > max) [max, best] = [logProbs[i]!, i];
  for (const i of opts.exclude ?? []) if (i === best) max = -Infinity;
  if (max === -Infinity) {
    // The best token is excluded: find the best allowed one.
    const banned = new Set(opts.exclude);
    for (let i = 0; i < v; i++) {
      if (!banned.has(i) && logProbs[i]! > max) [max, best] = [logProbs[i]!, i];
    }
  }
  if (opts.temperature <= 0) return best;
  let total = 0;
  for (let i = 0; i < v; i++) total += w[i] = Math.exp((logProbs[i]! - max) / opts.temperature);
  for (const i of opts.exclude ?? []) if (i >= 0 && i < v) total -= w[i]!, w[i] = 0;
  let threshold = 0;
  const k = opts.topK ?? 0, p = opts.topP ?? 1;
  if ((k > 0 && k < v) || p < 1) {
    const sorted = w.slice().sort(); // ascending
    if (k > 0 && k < v) threshold = sorted[v - k]!;
    if (p < 1) {
      let acc = 0, j = v - 1;
      while (j > 0 && (acc += sorted[j]!) < p * total) j--;
      threshold = Math.max(threshold, sorted[j]!);
    }
    total = 0;
    for (let i = 0; i < v; i++) if (w[i]! >= threshold) total += w[i]!;
  }
  let u = prng.next() * total;
  let last = best;
  for (let i = 0; i < v; i++) {
    const wi = w[i]!;
    if (wi <= 0 || wi < threshold) continue;
    last = i;
    u -= wi;
    if (u < 0) return i;
  }
  return last;
}
