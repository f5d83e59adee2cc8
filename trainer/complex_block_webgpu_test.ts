import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import { complexBlock, fromComplexBlock } from "../shared/cells/complex.ts";
import { countDispatches } from "../shared/dispatch_count.ts";
import { createPrng } from "../shared/prng.ts";
import { useWasm, useWebGpu } from "../shared/testing.ts";
import { gpuErrors } from "../shared/webgpu.ts";
import { complexBlockWebGpu, fromComplexBlockWebGpu } from "./complex_block_webgpu.ts";

Deno.test("complexBlockWebGpu() and fromComplexBlockWebGpu() equal the tfjs ops, one dispatch each", async () => {
  if (!(await useWebGpu())) return;
  const errors0 = gpuErrors.length;
  try {
    const prng = createPrng(3);
    const k = 5;
    const x = tf.tensor2d(Float32Array.from({ length: 2 * k * k }, () => prng.normal()), [
      k,
      2 * k,
    ]);
    const same = async (a: tf.Tensor, b: tf.Tensor, what: string) => {
      assert.deepEqual(a.shape, b.shape, what);
      assert.deepEqual(await a.data(), await b.data(), what);
    };
    const { result: phi, count } = await countDispatches(() => complexBlockWebGpu(x as Tensor2D));
    assert.equal(count.dispatches, 1);
    await same(phi, complexBlock(x as Tensor2D), "φ(W)");
    // |φ|: the lower-left block without its sign.
    const [re, im] = tf.split(x, 2, 1);
    await same(
      complexBlockWebGpu(x as Tensor2D, 1),
      tf.concat([x, tf.concat([im!, re!], 1)], 0),
      "|φ|(W)",
    );
    // Back from a block whose two copies differ: their mean, as the tfjs ops take it.
    const m = tf.add(phi, tf.mul(tf.randomNormal(phi.shape, 0, 1, "float32", 4), 0.01)) as Tensor2D;
    const back = await countDispatches(() => fromComplexBlockWebGpu(m));
    assert.equal(back.count.dispatches, 1);
    const want = (await fromComplexBlock(m).data()) as Float32Array;
    const got = (await back.result.data()) as Float32Array;
    assert.deepEqual(back.result.shape, [k, 2 * k]);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(want[i]! - got[i]!) < 1e-6, `${i}`);
    assert.deepEqual(gpuErrors.slice(errors0), []);
  } finally {
    await useWasm();
  }
});
