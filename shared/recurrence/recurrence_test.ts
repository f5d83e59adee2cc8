import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import type { Tensor, Tensor2D } from "../tf.ts";
import { parseModelConfig } from "../config.ts";
import { forwardLoss, initParams, zeroState } from "../model.ts";
import { createPrng } from "../prng.ts";
import type { RecurrenceKind } from "./mod.ts";
import { relativeError, useWasm } from "../testing.ts";
import { hasRecurrenceOp } from "./recurrence.ts";
import { CELLS } from "../cells/mod.ts";
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
    for (const odd of [{ T: 1, B: 2, H: 5 }, { T: 4, B: 1, H: 3 }]) {
      // A complex state needs an even width (its Re | Im halves).
      const complex = CELLS[v.cell].family === "crnn" || CELLS[v.cell].family === "cgru";
      const dims = complex ? { ...odd, H: odd.H + 1 } : odd;
      const c = layerCase(v, 3, dims);
      const ref = await runLayer(c, false);
      assertAgree(`${label(v)} T=${dims.T} B=${dims.B}`, ref, await runLayer(c, true));
    }
  }
});

Deno.test("forwardLoss() with the op gives the composed path's loss and every parameter's gradient", async () => {
  await useWasm();
  for (const v of [{ cell: "ugru" as const, layers: 2 }, { cell: "lstm" as const, layers: 2 }]) {
    const cfg = parseModelConfig({ ...v, vocabSize: 17, embedSize: 6, hiddenSize: 6 });
    const params = initParams(cfg, 4);
    const names = Object.keys(params);
    const prng = createPrng(9);
    const ids = (n: number) => Int32Array.from({ length: n }, () => prng.int(cfg.vocabSize));
    const x = tf.tensor2d(ids(3 * 5), [3, 5], "int32") as Tensor2D;
    const y = tf.tensor2d(ids(3 * 5), [3, 5], "int32") as Tensor2D;
    const run = async (recurrence: RecurrenceKind) => {
      const { value, grads } = tf.valueAndGrads((...ts: Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
        const opts = { dropout: 0.3, prng: createPrng(2), recurrence };
        return forwardLoss(p, cfg, x, y, zeroState(cfg, 3), opts).loss as tf.Scalar;
      })(names.map((n) => params[n]!));
      const out: Record<string, Float32Array> = { loss: (await value.data()) as Float32Array };
      for (const [i, n] of names.entries()) out[n] = (await grads[i]!.data()) as Float32Array;
      tf.dispose([value, ...grads]);
      return out;
    };
    assertAgree(`${v.cell} ×${v.layers}`, await run("composed"), await run("fused"));
    tf.dispose([x, y, ...Object.values(params)]);
  }
});
