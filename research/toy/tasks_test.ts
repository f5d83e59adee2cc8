import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import {
  COPY_CATEGORIES,
  COPY_SYMBOLS,
  kthLargestDistinct,
  parseTaskConfig,
  sampleExample,
  taskShape,
} from "./tasks.ts";

const SEEDS = Array.from({ length: 200 }, (_, i) => i * 7919 + 1);

Deno.test("kthLargestDistinct() answers a worked example and skips duplicates", () => {
  assert.equal(kthLargestDistinct([5, 7, 9, 53, 99, 98, 2, 100], 3), 98);
  assert.equal(kthLargestDistinct([100, 100, 99, 99, 7], 3), 7);
  assert.equal(kthLargestDistinct([4, 4, 4], 2), undefined);
});

Deno.test("sampleExample() answers first-term recall with the first term, over many seeds", () => {
  for (const length of [1, 5, 20]) {
    const c = parseTaskConfig({ task: "first", length, classes: 4 });
    for (const seed of SEEDS) {
      const e = sampleExample(c, createPrng(seed));
      assert.equal(e.x.length, length);
      assert.ok(e.x.every((v) => Number.isInteger(v) && v >= 0 && v < 4));
      assert.deepEqual(Array.from(e.y), [e.x[0]]);
    }
  }
});

Deno.test("sampleExample() answers kth with the k-th largest distinct value, over many seeds", () => {
  for (const [length, rank] of [[3, 3], [8, 3], [100, 3], [50, 1]] as const) {
    const c = parseTaskConfig({ task: "kth", length, maxValue: 10, rank });
    for (const seed of SEEDS) {
      const e = sampleExample(c, createPrng(seed));
      const xs = Array.from(e.x), y = e.y[0]!;
      assert.ok(xs.every((v) => v >= 1 && v <= 10));
      // Independent check: y occurs, and exactly rank − 1 distinct values exceed it.
      assert.ok(xs.includes(y));
      assert.equal(new Set(xs.filter((v) => v > y)).size, rank - 1);
    }
  }
});

Deno.test("sampleExample() lays out the copy task as Arjovsky et al. do", () => {
  const T = 30, n = T + 2 * COPY_SYMBOLS;
  const c = parseTaskConfig({ task: "copy", length: T });
  assert.equal(taskShape(c).steps, n);
  for (const seed of SEEDS) {
    const { x, y } = sampleExample(c, createPrng(seed));
    assert.equal(x.length, n);
    assert.equal(y.length, n);
    const symbols = Array.from(x.slice(0, COPY_SYMBOLS));
    assert.ok(symbols.every((s) => s >= 1 && s <= COPY_CATEGORIES));
    // Blanks, then the delimiter one step before the answer stretch.
    assert.ok(x.slice(COPY_SYMBOLS, n - COPY_SYMBOLS - 1).every((v) => v === 0));
    assert.equal(x[n - COPY_SYMBOLS - 1], COPY_CATEGORIES + 1);
    assert.ok(x.slice(n - COPY_SYMBOLS).every((v) => v === 0));
    assert.ok(y.slice(0, n - COPY_SYMBOLS).every((v) => v === 0));
    assert.deepEqual(Array.from(y.slice(n - COPY_SYMBOLS)), symbols);
  }
});

Deno.test("sampleExample() marks one value in each half for adding and sums them", () => {
  for (const T of [2, 3, 100]) {
    const c = parseTaskConfig({ task: "adding", length: T });
    for (const seed of SEEDS) {
      const { x, y } = sampleExample(c, createPrng(seed));
      assert.equal(x.length, 2 * T);
      const marked: number[] = [];
      let sum = 0;
      for (let t = 0; t < T; t++) {
        assert.ok(x[2 * t]! >= 0 && x[2 * t]! < 1);
        assert.ok(x[2 * t + 1] === 0 || x[2 * t + 1] === 1);
        if (x[2 * t + 1] === 1) (marked.push(t), sum += x[2 * t]!);
      }
      assert.equal(marked.length, 2);
      assert.ok(marked[0]! < Math.floor(T / 2) && marked[1]! >= Math.floor(T / 2));
      assert.equal(y[0], Math.fround(sum));
    }
  }
});

Deno.test("parseTaskConfig() refuses a rank that no sequence can have", () => {
  assert.throws(
    () => parseTaskConfig({ task: "kth", length: 2, rank: 3 }),
    /Invalid task config at "rank": kth needs rank at most min\(maxValue, length\)/,
  );
});
