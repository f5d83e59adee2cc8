import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import { relativeError, useWasm } from "../testing.ts";
import { hasRecurrenceOp } from "./recurrence.ts";
import { label, layerCase, runLayer, VARIANTS } from "./testing.ts";

/** Every output and gradient of the op against the composed path, relative 1e-4. */
function assertAgree(
  what: string,
  ref: Record<string, Float32Array>,
  op: Record<string, Float32Array>,
) {
  assert.deepEqual(Object.keys(op).sort(), Object.keys(ref).sort(), `${what}: the same outputs`);
  for (const [k, r] of Object.entries(ref)) {
    const e = relativeError(r, op[k]!);
    assert.ok(e <= 1e-4, `${what}: ${k} differs by relative ${e}`);
  }
}

for (const [i, v] of VARIANTS.entries()) {
  Deno.test(`recurrence() of ${label(v)} on wasm gives the composed path's outputs and gradients`, async () => {
    await useWasm();
    assert.ok(hasRecurrenceOp(), "the wasm backend runs the op");
    for (const reset of [false, true]) {
      const c = layerCase(v, 10 + i, { T: 5, B: 3, H: 6 }, reset);
      const before = tf.memory().numTensors;
      const op = await runLayer(c, true);
      assert.equal(tf.memory().numTensors, before, "the op leaves no tensor behind");
      assertAgree(`${label(v)} ${reset ? "reset" : "carried"}`, await runLayer(c, false), op);
    }
  });
}

Deno.test("recurrence() of one step and of a batch of one agrees with the composed path", async () => {
  await useWasm();
  for (const v of VARIANTS.filter((v) => v.activation === "tanh")) {
    for (const dims of [{ T: 1, B: 2, H: 5 }, { T: 4, B: 1, H: 3 }]) {
      const c = layerCase(v, 3, dims);
      const ref = await runLayer(c, false);
      assertAgree(`${label(v)} T=${dims.T} B=${dims.B}`, ref, await runLayer(c, true));
    }
  }
});
