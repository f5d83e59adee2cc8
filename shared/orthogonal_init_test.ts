import assert from "node:assert/strict";
import { haarOrthogonal, henaffOrthogonal, recurrentMatrix } from "./orthogonal_init.ts";
import { mat, orthogonalityError } from "./linalg.ts";
import { createPrng } from "./prng.ts";

Deno.test("haarOrthogonal() gives max |WᵀW − I| < 1e-5 at H = 256, in float32 too", () => {
  const w = haarOrthogonal(256, createPrng(1));
  assert.ok(orthogonalityError(w) < 1e-12);
  const f32 = recurrentMatrix("haar", 256, createPrng(1));
  const err = orthogonalityError(mat(256, 256, f32));
  assert.ok(err < 1e-5, `float32 error ${err}`);
});

Deno.test("haarOrthogonal() is seeded and has determinant signs of both kinds across seeds", () => {
  assert.deepEqual(haarOrthogonal(8, createPrng(4)).data, haarOrthogonal(8, createPrng(4)).data);
  assert.notDeepEqual(haarOrthogonal(8, createPrng(4)).data, haarOrthogonal(8, createPrng(5)).data);
  // Haar: the mean of the diagonal is 0, not biased towards +1 as plain QR would be.
  let sum = 0;
  for (let s = 0; s < 200; s++) sum += haarOrthogonal(4, createPrng(s)).data[0]!;
  assert.ok(Math.abs(sum / 200) < 0.15, `mean W00 ${sum / 200}`);
});

Deno.test("henaffOrthogonal() and identity are orthogonal", () => {
  assert.ok(orthogonalityError(henaffOrthogonal(65, createPrng(2))) < 1e-12);
  assert.ok(orthogonalityError(mat(16, 16, recurrentMatrix("identity", 16, createPrng(0)))) === 0);
});
