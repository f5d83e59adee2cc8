import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import { useWasm } from "./testing.ts";
import { fastPathCalls } from "./wasm_kernels.ts";

Deno.test("wasm Slice, Unpack and SplitV give tfjs's results, contiguous or not, with gradients", async () => {
  await useWasm();
  assert.equal(tf.getBackend(), "wasm");
  const values = Array.from({ length: 4 * 3 * 5 }, (_, i) => i * 0.5 - 7);
  const x = tf.tensor3d(values, [4, 3, 5]);
  const at = (i: number, j: number, k: number) => values[(i * 3 + j) * 5 + k]!;
  // Contiguous (whole trailing dims) and strided slices, float32 and int32.
  assert.deepEqual(
    tf.slice(x, [1, 0, 0], [2, 3, 5]).arraySync(),
    [1, 2].map((i) => [0, 1, 2].map((j) => [0, 1, 2, 3, 4].map((k) => at(i, j, k)))),
  );
  assert.deepEqual(
    tf.slice(x, [0, 1, 2], [4, 2, 2]).arraySync(),
    [0, 1, 2, 3].map((i) => [1, 2].map((j) => [2, 3].map((k) => at(i, j, k)))),
  );
  assert.deepEqual(tf.slice(tf.tensor1d([5, 6, 7, 8], "int32"), [1], [2]).arraySync(), [6, 7]);
  // Unpack along axis 0 (the fast path) and along axis 1 (the original kernel).
  const before = fastPathCalls.count;
  tf.unstack(x, 0);
  assert.equal(fastPathCalls.count, before + 1, "unstack along axis 0 takes the fast path");
  tf.unstack(x, 0).forEach((t, i) => {
    assert.deepEqual(t.shape, [3, 5]);
    assert.deepEqual(t.arraySync(), [0, 1, 2].map((j) => [0, 1, 2, 3, 4].map((k) => at(i, j, k))));
  });
  tf.unstack(x, 1).forEach((t, j) => {
    assert.deepEqual(
      t.arraySync(),
      [0, 1, 2, 3].map((i) => [0, 1, 2, 3, 4].map((k) => at(i, j, k))),
    );
  });
  // Split along axis 0 (contiguous parts) and axis 2 (the original kernel), and concat's gradient.
  const [p0, p1] = tf.split(x, [1, 3], 0);
  assert.deepEqual(p0!.arraySync(), tf.slice(x, [0, 0, 0], [1, 3, 5]).arraySync());
  assert.deepEqual(p1!.arraySync(), tf.slice(x, [1, 0, 0], [3, 3, 5]).arraySync());
  const [q0, q1] = tf.split(x, [2, 3], 2);
  assert.deepEqual(q1!.arraySync(), tf.slice(x, [0, 0, 2], [4, 3, 3]).arraySync());
  assert.deepEqual(q0!.shape, [4, 3, 2]);
  const parts = [tf.ones([2, 3]), tf.ones([1, 3])];
  const gs = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.concat([a, b], 0), tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]])))
  )(parts);
  assert.deepEqual(gs[0]!.arraySync(), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(gs[1]!.arraySync(), [[7, 8, 9]]);
  // The gradient of a sum of weighted unstacked parts reaches the right elements.
  const g = tf.grad((v: tf.Tensor) =>
    tf.addN(tf.unstack(v, 0).map((t, i) => tf.mul(tf.sum(t), i + 1)))
  )(x);
  assert.deepEqual(
    g.arraySync(),
    [0, 1, 2, 3].map((i) => [0, 1, 2].map(() => [0, 1, 2, 3, 4].map(() => i + 1))),
  );
  // Views must be taken after the output is allocated: slices of a tensor created after
  // the heap grew still read the right values.
  const big = tf.fill([4096, 1024], 3);
  assert.deepEqual(tf.slice(big, [4095, 1020], [1, 4]).arraySync(), [[3, 3, 3, 3]]);
  tf.dispose([x, g, big]);
});
