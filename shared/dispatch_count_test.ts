import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import { countDispatches } from "./dispatch_count.ts";
import { useWasm } from "./testing.ts";

Deno.test("countDispatches() counts the kernels and reads of forward and backward ops", async () => {
  await useWasm();
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const { result, count } = await countDispatches(async () => {
    // Forward: Square, Sum. Backward of Sum and Square: their gradient kernels.
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(t)))(x);
    const v = await g.data();
    g.dispose();
    return Array.from(v);
  });
  assert.deepEqual(result, [2, 4, 6, 8]);
  assert.equal(count.reads, 1);
  assert.ok(count.kernels >= 4, JSON.stringify(count));
  assert.equal(count.dispatches, count.kernels, "off webgpu every kernel is one dispatch");
  const again = await countDispatches(() => tf.tidy(() => tf.add(x, 1).dataSync()[0]));
  assert.deepEqual(again.count, { kernels: 1, dispatches: 1, reads: 1 });
  assert.equal(again.result, 2);
  x.dispose();
});

Deno.test("countDispatches() removes its hooks when the work throws", async () => {
  await useWasm();
  await assert.rejects(
    countDispatches(() => {
      throw new Error("boom");
    }),
    /boom/,
  );
  const { count } = await countDispatches(() => tf.tidy(() => tf.neg(tf.scalar(1)).dataSync()));
  assert.deepEqual(count, { kernels: 1, dispatches: 1, reads: 1 });
});

Deno.test("countDispatches() tallies the dispatches by pass and kernel", async () => {
  await useWasm();
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const { byKernel } = await countDispatches(() =>
    tf.tidy(() => {
      tf.grads((t: tf.Tensor) => tf.sum(tf.square(t)))([x]);
      tf.neg(x);
    })
  );
  assert.equal(byKernel["forward Square"], 1);
  assert.equal(byKernel["forward Sum"], 1);
  assert.ok(Object.keys(byKernel).some((k) => k.startsWith("backward ")), JSON.stringify(byKernel));
  assert.equal(byKernel["Neg"], 1);
  x.dispose();
});
