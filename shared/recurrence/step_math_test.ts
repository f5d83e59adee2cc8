import assert from "node:assert/strict";
import { sigmoid32, tanh32 } from "./step_math.ts";

Deno.test("tanh32() and sigmoid32() are within float32 rounding of the exact functions", () => {
  let worstTanh = 0, worstSigmoid = 0;
  for (let x = -30; x <= 30; x += 0.00123) {
    worstTanh = Math.max(worstTanh, Math.abs(tanh32(x) - Math.tanh(x)));
    worstSigmoid = Math.max(worstSigmoid, Math.abs(sigmoid32(x) - 1 / (1 + Math.exp(-x))));
  }
  // float32's spacing at 1 is 1.2e-7: a few ulp.
  assert.ok(worstTanh < 5e-7, `tanh32 is off by ${worstTanh}`);
  assert.ok(worstSigmoid < 5e-7, `sigmoid32 is off by ${worstSigmoid}`);
  // Small arguments keep their relative accuracy (no cancellation near 0).
  for (const x of [1e-3, 1e-5, -2e-4, 3e-8]) {
    assert.ok(Math.abs(tanh32(x) / Math.tanh(x) - 1) < 1e-6, `tanh32(${x})`);
  }
  assert.equal(tanh32(0), 0);
  assert.equal(sigmoid32(0), 0.5);
});
