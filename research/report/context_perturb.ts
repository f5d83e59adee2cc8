/**
 * The context perturbations of Khandelwal et al. 2018 ("Sharp Nearby, Fuzzy Far Away: How
 * Neural Language Models Use Context"), as pure functions over token windows.
 *
 * A window holds the L tokens before a target: window[i] sits L − i tokens before it, so the
 * tokens farther than d from the target are window[0 .. L−d).
 */
import { createPrng, type Prng } from "../../shared/prng.ts";

export const PERTURBATIONS = ["shuffle", "replace"] as const;
export type Perturbation = (typeof PERTURBATIONS)[number];

/** How many of a window's L tokens lie farther than d from the target. */
export function farCount(history: number, d: number): number {
  return Math.max(0, history - d);
}

/** The window with its tokens farther than d permuted among themselves (Fisher–Yates). */
export function shuffleFar(window: Int32Array, d: number, prng: Prng): Int32Array {
  const out = window.slice();
  for (let i = farCount(window.length, d) - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/**
 * The window with its tokens farther than d replaced by a span of the same length drawn from
 * `source` (the paper's "replace with a random sequence"). The span avoids `avoid` = [from, to)
 * of `source`, the target's own window, whenever the stream leaves room for that.
 */
export function replaceFar(
  window: Int32Array,
  d: number,
  source: Int32Array,
  avoid: readonly [number, number],
  prng: Prng,
): Int32Array {
  const n = farCount(window.length, d);
  const out = window.slice();
  if (n === 0) return out;
  if (n > source.length) {
    throw new Error(`A span of ${n} tokens does not fit in a stream of ${source.length}`);
  }
  // Starts whose span [s, s+n) misses [from, to): s ≤ from − n, or s ≥ to.
  const before = Math.max(0, avoid[0] - n + 1),
    after = Math.max(0, source.length - n + 1 - avoid[1]);
  let start: number;
  if (before + after === 0) start = prng.int(source.length - n + 1);
  else {
    const k = prng.int(before + after);
    start = k < before ? k : avoid[1] + (k - before);
  }
  out.set(source.subarray(start, start + n), 0);
  return out;
}

/** `n` distinct target positions in [history, streamLength), sorted, drawn with `prng`. */
export function sampleTargets(
  streamLength: number,
  history: number,
  n: number,
  prng: Prng,
): number[] {
  const room = streamLength - history;
  if (n > room) {
    throw new Error(
      `Cannot place ${n} targets with ${history} tokens of history in a stream of ${streamLength} tokens (room for ${
        Math.max(0, room)
      })`,
    );
  }
  // Floyd's algorithm: n distinct draws from `room` values without materialising them all.
  const chosen = new Set<number>();
  for (let j = room - n; j < room; j++) {
    const t = prng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].map((k) => k + history).sort((a, b) => a - b);
}

/**
 * The PRNG for one perturbed window: derived from (seed, target, d, perturbation) alone, so a
 * window is the same whatever order or block it is computed in.
 */
export function windowPrng(seed: number, target: number, d: number, kind: Perturbation): Prng {
  let h = Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(target, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) ^ Math.imul(d, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 13), 0x165667b1) ^ PERTURBATIONS.indexOf(kind);
  return createPrng(h >>> 0);
}

/**
 * The effective context: the smallest listed d from which on every listed d' ≥ d costs less
 * than `threshold` (relative to the unperturbed loss); null when even the largest d does not.
 * `distances` ascend; `relIncrease[i]` belongs to `distances[i]`.
 */
export function effectiveContext(
  distances: readonly number[],
  relIncrease: readonly number[],
  threshold: number,
): number | null {
  let found: number | null = null;
  for (let i = distances.length - 1; i >= 0; i--) {
    if (!(relIncrease[i]! < threshold)) break;
    found = distances[i]!;
  }
  return found;
}
