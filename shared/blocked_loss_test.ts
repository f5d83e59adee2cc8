import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import type { Tensor, Tensor1D, Tensor2D } from "./tf.ts";
import { blockedCrossEntropy, blockRows } from "./blocked_loss.ts";
import { softmaxCrossEntropy } from "./ops.ts";
import { createPrng } from "./prng.ts";
import { relativeError, useWasm } from "./testing.ts";

const N = 10, H = 4, V = 7;

function inputs(seed: number) {
  const prng = createPrng(seed);
  const normal = (n: number) => Float32Array.from({ length: n }, () => 2 * prng.next() - 1);
  return {
    h: tf.tensor2d(normal(N * H), [N, H]) as Tensor2D,
    w: tf.tensor2d(normal(H * V), [H, V]) as Tensor2D,
    b: tf.tensor1d(normal(V)) as Tensor1D,
    y: tf.tensor1d(Int32Array.from({ length: N }, () => prng.int(V)), "int32") as Tensor1D,
  };
}

/** Loss and the gradients of h, W and b, by `loss`. */
function valueAndGrads(
  loss: (h: Tensor2D, w: Tensor2D, b: Tensor1D) => Tensor,
  x: ReturnType<typeof inputs>,
) {
  const { value, grads } = tf.valueAndGrads((h: Tensor, w: Tensor, b: Tensor) =>
    loss(h as Tensor2D, w as Tensor2D, b as Tensor1D)
  )([x.h, x.w, x.b]);
  return { value: value.dataSync()[0]!, grads: grads.map((g) => g.dataSync()) };
}

Deno.test("blockedCrossEntropy() equals the plain loss and gradients for every block size", async () => {
  await useWasm();
  const x = inputs(3);
  const plain = valueAndGrads(
    (h, w, b) => softmaxCrossEntropy(tf.add(tf.matMul(h, w), b) as Tensor2D, x.y),
    x,
  );
  for (const rows of [1, 3, 4, 10, 64]) {
    const blocked = valueAndGrads((h, w, b) => blockedCrossEntropy(h, w, b, x.y, rows), x);
    assert.ok(
      Math.abs(blocked.value - plain.value) / plain.value < 1e-6,
      `rows ${rows}: ${blocked.value} vs ${plain.value}`,
    );
    for (const [i, name] of ["h", "W", "b"].entries()) {
      const err = relativeError(plain.grads[i]!, blocked.grads[i]!);
      assert.ok(err < 1e-5, `rows ${rows}: ∂L/∂${name} off by ${err}`);
    }
  }
  // A scaled loss scales every gradient: the backward pass multiplies by the incoming dy.
  const twice = valueAndGrads((h, w, b) => tf.mul(blockedCrossEntropy(h, w, b, x.y, 3), 2), x);
  assert.ok(relativeError(plain.grads[1]!.map((g) => 2 * g), twice.grads[1]!) < 1e-5);
});

Deno.test("blockedCrossEntropy() holds no [N, V] tensor past the forward pass", async () => {
  await useWasm();
  const n = 64, h = 4, v = 500;
  const prng = createPrng(5);
  const ht = tf.randomNormal([n, h], 0, 1, "float32", 1) as Tensor2D;
  const wt = tf.randomNormal([h, v], 0, 1, "float32", 2) as Tensor2D;
  const bt = tf.zeros([v]) as Tensor1D;
  const y = tf.tensor1d(Int32Array.from({ length: n }, () => prng.int(v)), "int32") as Tensor1D;
  const heldBy = (loss: () => Tensor) => {
    // Inside a gradient, before the backward pass runs: what the forward pass saved for it.
    let held = 0;
    tf.grads(() => {
      const before = tf.memory().numBytes;
      const l = loss();
      held = tf.memory().numBytes - before;
      return l;
    })([ht, wt, bt]).forEach((g) => g.dispose());
    return held;
  };
  const blocked = heldBy(() => blockedCrossEntropy(ht, wt, bt, y, 8));
  const plain = heldBy(() => softmaxCrossEntropy(tf.add(tf.matMul(ht, wt), bt) as Tensor2D, y));
  assert.ok(plain >= n * v * 4, `the plain path holds the logits: ${plain} bytes`);
  assert.ok(blocked < (n * h + h * v + v + 64) * 4, `blocked held ${blocked} bytes`);
});

Deno.test("blockRows() divides an element budget by the vocabulary, at least one row", () => {
  assert.equal(blockRows(10000), 419);
  assert.equal(blockRows(10, 100), 10);
  assert.equal(blockRows(1000, 10), 1);
  assert.throws(
    () =>
      blockedCrossEntropy(
        tf.zeros([2, 2]),
        tf.zeros([2, 3]),
        tf.zeros([3]),
        tf.zeros([2], "int32"),
        0,
      ),
    /Block rows must be a positive integer, got "0"/,
  );
});
