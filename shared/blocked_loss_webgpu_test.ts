import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import type { Tensor, Tensor1D, Tensor2D } from "./tf.ts";
import { blockedCrossEntropyWebGpu } from "./blocked_loss_webgpu.ts";
import { countDispatches } from "./dispatch_count.ts";
import { softmaxCrossEntropy } from "./ops.ts";
import { createPrng } from "./prng.ts";
import { relativeError, useWasm, useWebGpu } from "./testing.ts";
import { gpuErrors } from "./webgpu.ts";

const N = 10, H = 4, V = 300;

function inputs(seed: number) {
  const prng = createPrng(seed);
  const normal = (n: number) => Float32Array.from({ length: n }, () => 4 * prng.next() - 2);
  return {
    h: tf.tensor2d(normal(N * H), [N, H]) as Tensor2D,
    w: tf.tensor2d(normal(H * V), [H, V]) as Tensor2D,
    b: tf.tensor1d(normal(V)) as Tensor1D,
    y: tf.tensor1d(Int32Array.from({ length: N }, () => prng.int(V)), "int32") as Tensor1D,
  };
}

/** Loss and the gradients of h, W and b, by `loss`. */
async function valueAndGrads(
  loss: (h: Tensor2D, w: Tensor2D, b: Tensor1D) => Tensor,
  x: { h: Tensor2D; w: Tensor2D; b: Tensor1D },
) {
  const { value, grads } = tf.valueAndGrads((h: Tensor, w: Tensor, b: Tensor) =>
    loss(h as Tensor2D, w as Tensor2D, b as Tensor1D)
  )([x.h, x.w, x.b]);
  const out = {
    value: (await value.data())[0]!,
    grads: await Promise.all(grads.map((g) => g.data())),
  };
  tf.dispose([value, ...grads]);
  return out;
}

Deno.test("blockedCrossEntropyWebGpu() equals the composed loss and gradients, either layout", async () => {
  if (!(await useWebGpu())) return;
  const errors0 = gpuErrors.length;
  try {
    const x = inputs(3);
    const wT = tf.transpose(x.w) as Tensor2D; // [V,H]: a tied embedding's layout
    // The reference: tfjs's ops on the whole [N,V] logits (ops.ts), on the same backend.
    const plain = await valueAndGrads(
      (h, w, b) => softmaxCrossEntropy(tf.add(tf.matMul(h, w), b) as Tensor2D, x.y),
      x,
    );
    for (const rows of [4, 10]) {
      for (const layout of ["HV", "VH"] as const) {
        const what = `rows ${rows}, ${layout}`;
        const w = layout === "HV" ? x.w : wT;
        const got = await valueAndGrads(
          (h, ww, b) => tf.mul(blockedCrossEntropyWebGpu(h, ww, layout, b, x.y, rows), 2),
          { ...x, w },
        );
        assert.ok(relativeError([2 * plain.value], [got.value]) < 1e-6, `${what}: loss`);
        const dw = layout === "HV" ? got.grads[1]! : await tf.transpose(
          tf.tensor2d(got.grads[1]!, [V, H]),
        ).data();
        for (const [i, g] of [got.grads[0]!, dw, got.grads[2]!].entries()) {
          const err = relativeError(plain.grads[i]!.map((v) => 2 * v), g);
          assert.ok(err < 1e-5, `${what}: ∂L/∂${["h", "W", "b"][i]} off by ${err}`);
        }
      }
    }
    // Dispatches: per block a slice, the logits, rows, ∂z, ∂h, ∂W, ∂b; then the total, the
    // concatenated ∂h and the three products by dy.
    const { count } = await countDispatches(() =>
      tf.tidy(() =>
        tf.grads((h: Tensor) => blockedCrossEntropyWebGpu(h as Tensor2D, wT, "VH", x.b, x.y, 4))([
          x.h,
        ])
      )
    );
    assert.equal(count.dispatches, 3 * 7 + 1 + 1 + 3);
    assert.equal(count.reads, 0);
    tf.dispose([x.h, x.w, x.b, x.y, wT]);
    assert.deepEqual(gpuErrors.slice(errors0), []);
  } finally {
    await useWasm();
  }
});
