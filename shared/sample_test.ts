import assert from "node:assert/strict";
import { drawWeighted, logSumExp, sampleToken, topK } from "./sample.ts";
import { createPrng } from "./prng.ts";

const lp = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));

Deno.test("sampleToken() with the same seed draws the same sequence", () => {
  const draw = (seed: number) => {
    const prng = createPrng(seed);
    return Array.from({ length: 50 }, () => sampleToken(lp, { temperature: 1 }, prng));
  };
  assert.deepEqual(draw(9), draw(9));
  assert.notDeepEqual(draw(9), draw(10));
});

Deno.test("sampleToken() follows the distribution, top-k, top-p, temperature 0 and exclusions", () => {
  const prng = createPrng(1);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[sampleToken(lp, { temperature: 1 }, prng)]!++;
  assert.ok(Math.abs(counts[0]! / 20000 - 0.5) < 0.02, `${counts}`);
  assert.ok(Math.abs(counts[3]! / 20000 - 0.05) < 0.01, `${counts}`);
  for (let i = 0; i < 500; i++) assert.ok(sampleToken(lp, { temperature: 1, topK: 2 }, prng) < 2);
  for (let i = 0; i < 500; i++) assert.ok(sampleToken(lp, { temperature: 1, topP: 0.7 }, prng) < 2);
  assert.equal(sampleToken(lp, { temperature: 0 }, prng), 0);
  assert.equal(sampleToken(lp, { temperature: 0, exclude: [0] }, prng), 1);
});

Deno.test("drawWeighted() draws in proportion to weights and says when no allowed weight is left", () => {
  const prng = createPrng(2);
  const counts = [0, 0, 0];
  for (let i = 0; i < 20000; i++) {
    counts[drawWeighted(Float32Array.from([3, 1, 0]), { temperature: 1 }, prng)]!++;
  }
  assert.ok(Math.abs(counts[0]! / 20000 - 0.75) < 0.02, `${counts}`);
  assert.equal(counts[2], 0);
  assert.equal(
    drawWeighted(Float32Array.from([1, 0, 0]), { temperature: 0.1, exclude: [0] }, prng),
    -1,
  );
  assert.equal(
    drawWeighted(Float32Array.from([1, 0.5, 0.7]), { temperature: 0, exclude: [0] }, prng),
    2,
  );
  // sampleToken() weighs relative to the best allowed entry, so a far-ahead excluded one is harmless.
  const lp = Float32Array.from([0, -2000, -2100]);
  assert.equal(sampleToken(lp, { temperature: 0.5, exclude: [0] }, prng), 1);
});

Deno.test("topK() gives the largest entries, largest first", () => {
  assert.deepEqual(topK(Float32Array.from([0.5, 3, -1, 2, 3.5]), 3), [[4, 3.5], [1, 3], [3, 2]]);
});

Deno.test("logSumExp() is log Σ exp, stable for large entries", () => {
  assert.ok(Math.abs(logSumExp(Float32Array.from([1000, 1000])) - (1000 + Math.log(2))) < 1e-9);
});
