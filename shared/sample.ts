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

/** Draw one id from logProbs [V] (natural log, normalised or not). */
export function sampleToken(logProbs: Float32Array, opts: SampleOptions, prng: Prng): number {
  const v = logProbs.length;
  const banned = new Set(opts.exclude ?? []);
  if (opts.temperature <= 0) {
    let best = -1;
    for (let i = 0; i < v; i++) {
      if (!banned.has(i) && (best < 0 || logProbs[i]! > logProbs[best]!)) best = i;
    }
    return best;
  }
  // Candidates, most likely first, only as many as top-k allows.
  let order = Array.from({ length: v }, (_, i) => i).filter((i) => !banned.has(i));
  order.sort((a, b) => logProbs[b]! - logProbs[a]!);
  if (opts.topK && opts.topK > 0) order = order.slice(0, opts.topK);
  const max = logProbs[order[0]!]!;
  const weights = order.map((i) => Math.exp((logProbs[i]! - max) / opts.temperature));
  let total = weights.reduce((a, b) => a + b, 0);
  const topP = opts.topP ?? 1;
  if (topP < 1) {
    let acc = 0, keep = 0;
    while (keep < weights.length && acc < topP * total) acc += weights[keep++]!;
    order = order.slice(0, keep);
    weights.length = keep;
    total = acc;
  }
  let u = prng.next() * total;
  for (let k = 0; k < order.length; k++) {
    u -= weights[k]!;
    if (u < 0) return order[k]!;
  }
  return order[order.length - 1]!;
}
