/**
 * Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32.
 *
 * Written here rather than taken from a package because its whole state is four plain
 * integers that a training checkpoint stores and restores exactly, and because sampling
 * calls it once per generated token on the server's hot path.
 */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** The generator's state, to store in a checkpoint. */
  state(): number[];
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator from a seed (any integer), or from a state saved with `state()`. */
export function createPrng(seedOrState: number | readonly number[]): Prng {
  let s: Uint32Array;
  if (typeof seedOrState === "number") {
    if (!Number.isFinite(seedOrState)) throw new Error(`Seed must be finite, got "${seedOrState}"`);
    const mix = splitmix32(Math.floor(seedOrState) >>> 0 ^ Math.floor(seedOrState / 2 ** 32));
    s = Uint32Array.from([mix(), mix(), mix(), mix()]);
  } else {
    if (seedOrState.length !== 4) throw new Error("A PRNG state has four integers");
    s = Uint32Array.from(seedOrState);
  }
  if (s[0] === 0 && s[1] === 0 && s[2] === 0 && s[3] === 0) s[0] = 1;
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const nextUint32 = (): number => {
    const s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    const n2 = (s2 ^ s0) >>> 0, n3 = (s3 ^ s1) >>> 0;
    s[1] = (s1 ^ n2) >>> 0;
    s[0] = (s0 ^ n3) >>> 0;
    s[2] = (n2 ^ t) >>> 0;
    s[3] = rotl(n3, 11);
    return result;
  };
  const next = () => nextUint32() / 4294967296;
  return {
    next,
    nextUint32,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      let u = next();
      while (u === 0) u = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    state: () => Array.from(s),
  };
}
