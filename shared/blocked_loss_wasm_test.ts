import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import type { Tensor1D, Tensor2D } from "./tf.ts";
import { canFuseLoss, fusedSoftmaxXent } from "./blocked_loss_wasm.ts";
import { createPrng } from "./prng.ts";
import { relativeError, useWasm } from "./testing.ts";

Deno.test("fusedSoftmaxXent() gives each row's loss and ∂L/∂z as tfjs ops do, at large logits too", async () => {
  await useWasm();
  assert.ok(canFuseLoss());
  const r = 6, v = 1000, scale = 1 / 13;
  const prng = createPrng(9);
  for (const spread of [1, 60]) {
    const z = tf.tensor2d(
      Float32Array.from({ length: r * v }, () => spread * (2 * prng.next() - 1)),
      [r, v],
    ) as Tensor2D;
    const y = tf.tensor1d(Int32Array.from({ length: r }, () => prng.int(v)), "int32") as Tensor1D;
    const got = fusedSoftmaxXent(z, y, scale);
    const logp = tf.logSoftmax(z);
    const onehot = tf.oneHot(y, v).toFloat();
    const wantLoss = tf.neg(tf.sum(tf.mul(logp, onehot), 1));
    const wantDz = tf.mul(tf.sub(tf.exp(logp), onehot), scale);
    assert.deepEqual(got.loss.shape, [r]);
    assert.deepEqual(got.dz.shape, [r, v]);
    const lossErr = relativeError(wantLoss.dataSync(), got.loss.dataSync());
    const dzErr = relativeError(wantDz.dataSync(), got.dz.dataSync());
    assert.ok(lossErr < 1e-6, `spread ${spread}: loss off by ${lossErr}`);
    assert.ok(dzErr < 1e-5, `spread ${spread}: ∂L/∂z off by ${dzErr}`);
    // Each row of ∂L/∂z sums to zero: softmax sums to one, the one-hot too.
    for (const s of tf.sum(got.dz, 1).dataSync()) assert.ok(Math.abs(s) < 1e-6, `row sum ${s}`);
    tf.dispose([z, y, got.loss, got.dz, logp, onehot, wantLoss, wantDz]);
  }
});

Deno.test("fusedSoftmaxXent() refuses a target outside the vocabulary", async () => {
  await useWasm();
  const z = tf.zeros([2, 5]) as Tensor2D;
  for (const bad of [5, -1]) {
    const y = tf.tensor1d([0, bad], "int32") as Tensor1D;
    const before = tf.backend().numDataIds();
    assert.throws(() => fusedSoftmaxXent(z, y, 1), /Target -?\d is outside the vocabulary of 5/);
    assert.equal(tf.backend().numDataIds(), before, "nothing left behind in the wasm heap");
    y.dispose();
  }
  z.dispose();
});
