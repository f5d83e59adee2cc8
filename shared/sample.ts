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
 * Draw one id from logProbs [V] (natural log, normalised or not): the weights
 * exp((logProbs − max) / temperature) in one pass, then `drawWeighted`.
 */
export function sampleToken(logProbs: Float32Array, opts: SampleOptions, prng: Prng): number {
  const v = logProbs.length;
  // One weight buffer reused across calls (this runs once per generated token).
  if (scratch.length < v) scratch = new Float64Array(v);
  const w = scratch.subarray(0, v);
  // The largest allowed entry has weight 1, so some allowed weight is positive.
  let max = -Infinity, best = 0;
  for (let i = 0; i < v; i++) if (logProbs[i]! > max) max = logProbs[i]!, best = i;
  if (opts.exclude?.includes(best)) {
    const banned = new Set(opts.exclude);
    max = -Infinity;
    for (let i = 0; i < v; i++) if (logProbs[i]! > max && !banned.has(i)) max = logProbs[i]!;
  }
  const t = opts.temperature > 0 ? opts.temperature : 1;
  for (let i = 0; i < v; i++) w[i] = Math.exp((logProbs[i]! - max) / t);
  return Math.max(0, drawWeighted(w, opts, prng));
}

/**
 * Draw one id with probability ∝ w[i] (weights ≥ 0 at the request's temperature, any scale;
 * the server computes them on the wasm backend for a whole batch at once). Temperature 0
 * takes the largest allowed weight. Runs once per generated token, so it avoids sorting
 * objects: top-k and top-p become one weight threshold found on a natively sorted copy, and
 * plain sampling is a single pass. Excluded ids' weights are set to 0 in `w`. Returns −1
 * when no allowed weight is positive (all underflowed), so the caller can redo it in float64.
 */
export function drawWeighted(
  w: Float32Array | Float64Array,
  opts: SampleOptions,
  prng: Prng,
): number {
  const v = w.length;
  for (const i of opts.exclude ?? []) if (i >= 0 && i < v) w[i] = 0;
  let total = 0, best = 0, max = -Infinity;
  for (let i = 0; i < v; i++) {
    const wi = w[i]!;
    total += wi;
    if (wi > max) max = wi, best = i;
  }
  if (!(total > 0)) return -1;
  if (opts.temperature <= 0) return best;
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

/** log Σ exp(row), stable: the largest entry is taken out first. */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/** The k largest entries as [index, value], largest first. */
export function topK(row: Float32Array, k: number): [number, number][] {
  const best: [number, number][] = [];
  for (let i = 0; i < row.length; i++) {
    const x = row[i]!;
    if (best.length === k && x <= best[k - 1]![1]) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && best[j - 1]![1] < x) j--;
    best.splice(j, 0, [i, x]);
    if (best.length > k) best.pop();
  }
  return best;
}
