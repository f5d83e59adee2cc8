/**
 * The engine on WebGPU (a software adapter here, Mesa's llvmpipe through Deno): it reads each
 * step's logits asynchronously there, and draws the tokens the wasm backend draws.
 */
import assert from "node:assert/strict";
import { loadModel } from "../shared/model_format.ts";
import { tf } from "../shared/tf.ts";
import { useWasm, useWebGpu } from "../shared/testing.ts";
import type { SampledToken } from "./engine.ts";
import { serveModel } from "./models.ts";
import { smallModelDir } from "./testing.ts";

async function draw(dir: string) {
  const m = serveModel("tiny", await loadModel(dir), { maxActive: 4, maxQueue: 4 });
  const samplings = [{ temperature: 0 }, { temperature: 1 }, { temperature: 0.7, topK: 4 }];
  const outs = samplings.map(() => [] as SampledToken[]);
  await Promise.all(samplings.map((sampling, i) =>
    m.engine.submit({
      context: Int32Array.from([1, 2, 3]),
      sampling,
      seed: 40 + i,
      topLogprobs: 2,
      onToken: (t) => (outs[i]!.push(t), outs[i]!.length < 12),
    })
  ));
  return outs;
}

Deno.test({
  name: "createEngine() on webgpu reads its steps asynchronously and draws wasm's tokens",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await smallModelDir();
    await useWasm();
    const wasm = await draw(dir);
    if (!(await useWebGpu())) return;
    try {
      assert.equal(tf.getBackend(), "webgpu");
      // No synchronous read at all: in a browser tab, WebGPU's dataSync returns zeros.
      const proto = tf.Tensor.prototype;
      const dataSync = proto.dataSync;
      let syncReads = 0;
      proto.dataSync = function (this: tf.Tensor) {
        syncReads++;
        return dataSync.call(this);
      } as typeof dataSync;
      let gpu: SampledToken[][];
      try {
        gpu = await draw(dir);
      } finally {
        proto.dataSync = dataSync;
      }
      assert.equal(syncReads, 0);
      assert.deepEqual(gpu.map((o) => o.map((t) => t.id)), wasm.map((o) => o.map((t) => t.id)));
      gpu.flat().forEach((t, i) => {
        const w = wasm.flat()[i]!;
        assert.ok(Math.abs(t.logprob - w.logprob) < 1e-3, `${t.logprob} vs ${w.logprob}`);
      });
    } finally {
      await useWasm();
    }
  },
});
