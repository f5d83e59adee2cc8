import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import {
  effectiveContext,
  farCount,
  replaceFar,
  sampleTargets,
  shuffleFar,
  windowPrng,
} from "./context_perturb.ts";

const sorted = (a: ArrayLike<number>) => Array.from(a).sort((x, y) => x - y);
const window = (n: number, from = 1000) => Int32Array.from({ length: n }, (_, i) => from + i);

Deno.test("shuffleFar() permutes only the tokens farther than d and keeps their multiset", () => {
  const w = Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 13); // repeated ids too
  for (const d of [1, 5, 17, 39]) {
    const out = shuffleFar(w, d, createPrng(d));
    const far = farCount(w.length, d);
    assert.deepEqual(Array.from(out.subarray(far)), Array.from(w.subarray(far)), `d = ${d}`);
    assert.deepEqual(sorted(out.subarray(0, far)), sorted(w.subarray(0, far)), `d = ${d}`);
  }
  // A long far part is really moved (39 distinct tokens left in place by chance: 1/39!).
  const moved = shuffleFar(window(40), 1, createPrng(3));
  assert.notDeepEqual(Array.from(moved), Array.from(window(40)));
  assert.deepEqual(Array.from(w), Array.from(w.slice()), "the input is not modified");
});

Deno.test("shuffleFar() and replaceFar() leave the window alone when d ≥ L", () => {
  const w = window(10), stream = window(100, 0);
  for (const d of [10, 11, 500]) {
    assert.deepEqual(Array.from(shuffleFar(w, d, createPrng(1))), Array.from(w));
    assert.deepEqual(Array.from(replaceFar(w, d, stream, [0, 11], createPrng(1))), Array.from(w));
  }
});

Deno.test("replaceFar() puts a span of the stream outside the target's window in the far part", () => {
  const stream = Int32Array.from({ length: 200 }, (_, i) => i);
  const pos = 120, L = 30;
  const w = stream.subarray(pos - L, pos);
  for (let seed = 0; seed < 50; seed++) {
    for (const d of [1, 4, 29]) {
      const out = replaceFar(w, d, stream, [pos - L, pos + 1], createPrng(seed));
      const far = farCount(L, d);
      assert.deepEqual(Array.from(out.subarray(far)), Array.from(w.subarray(far)));
      const start = out[0]!;
      // Contiguous in the stream, and clear of [pos − L, pos] (ids equal positions here).
      assert.deepEqual(
        Array.from(out.subarray(0, far)),
        Array.from(stream.subarray(start, start + far)),
      );
      assert.ok(start + far <= pos - L || start >= pos + 1, `seed ${seed}, d ${d}: start ${start}`);
    }
  }
});

Deno.test("replaceFar() still replaces when the stream leaves no room outside the window", () => {
  const stream = window(12, 0);
  const out = replaceFar(stream.subarray(2, 12), 2, stream, [2, 12], createPrng(4));
  assert.equal(out.length, 10);
  assert.throws(() => replaceFar(window(10), 1, window(5), [0, 0], createPrng(1)), /does not fit/);
});

Deno.test("perturbations and targets are reproducible from the seed", () => {
  const w = window(50), stream = window(1000, 0);
  const a = shuffleFar(w, 3, windowPrng(7, 400, 3, "shuffle"));
  assert.deepEqual(a, shuffleFar(w, 3, windowPrng(7, 400, 3, "shuffle")));
  assert.notDeepEqual(a, shuffleFar(w, 3, windowPrng(8, 400, 3, "shuffle")));
  const r = replaceFar(w, 3, stream, [350, 401], windowPrng(7, 400, 3, "replace"));
  assert.deepEqual(r, replaceFar(w, 3, stream, [350, 401], windowPrng(7, 400, 3, "replace")));
  const t = sampleTargets(5000, 300, 100, createPrng(2));
  assert.deepEqual(t, sampleTargets(5000, 300, 100, createPrng(2)));
  assert.notDeepEqual(t, sampleTargets(5000, 300, 100, createPrng(3)));
});

Deno.test("sampleTargets() draws distinct sorted positions that leave room for the history", () => {
  const t = sampleTargets(400, 300, 100, createPrng(1));
  assert.deepEqual(t, Array.from({ length: 100 }, (_, i) => 300 + i), "all 100 places taken");
  const s = sampleTargets(10_000, 300, 500, createPrng(1));
  assert.equal(new Set(s).size, 500);
  assert.deepEqual(s, [...s].sort((a, b) => a - b));
  assert.ok(s[0]! >= 300 && s.at(-1)! < 10_000);
  assert.throws(() => sampleTargets(400, 300, 101, createPrng(1)), /room for 100/);
});

Deno.test("effectiveContext() is the smallest d from which on every increase is under threshold", () => {
  const ds = [1, 2, 5, 10, 20];
  assert.equal(effectiveContext(ds, [0.5, 0.02, 0.005, 0.012, 0.001], 0.01), 20);
  assert.equal(effectiveContext(ds, [0.5, 0.02, 0.005, 0.002, -0.001], 0.01), 5);
  assert.equal(effectiveContext(ds, [0.005, 0, 0, 0, 0], 0.01), 1);
  assert.equal(effectiveContext(ds, [0.5, 0.4, 0.3, 0.2, 0.1], 0.01), null);
  assert.equal(effectiveContext(ds, [0, 0, 0, 0, NaN], 0.01), null, "NaN never counts as unused");
});
