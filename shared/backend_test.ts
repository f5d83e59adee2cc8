import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import type { Tensor2D } from "./tf.ts";
import { describeBackend, initBackend } from "./backend.ts";
import { useWasm } from "./testing.ts";
import { describeAdapter, probeAdapter } from "./webgpu.ts";
import { parseModelConfig } from "./config.ts";
import { forwardLogits, initParams, zeroState } from "./model.ts";

Deno.test("initBackend('tensorflow') names the package to install; 'auto' says why it chose", async () => {
  await assert.rejects(initBackend("tensorflow"), /npm install @tensorflow\/tfjs-node-gpu/);
  const probe = await probeAdapter();
  const auto = await initBackend("auto");
  if (probe.ok && !probe.adapter.software) {
    assert.equal(auto.name, "webgpu");
    assert.match(describeBackend(auto), /hardware WebGPU adapter/);
  } else {
    // A software adapter (or none) never wins over wasm, and the reason names it.
    assert.equal(auto.name, "wasm");
    assert.match(auto.reason, /no native TensorFlow package/);
    assert.ok(
      auto.reason.includes(probe.ok ? describeAdapter(probe.adapter) : "no WebGPU adapter"),
      auto.reason,
    );
  }
  await useWasm();
  await assert.rejects(initBackend("gpu" as never), /Unknown backend "gpu"/);
});

Deno.test("the same forward pass agrees on wasm and cpu to 1e-5", async () => {
  for (const cell of ["urnn", "ugru", "lstm"] as const) {
    const cfg = parseModelConfig({
      cell,
      activation: "abs",
      vocabSize: 50,
      embedSize: 16,
      hiddenSize: 32,
      layers: 2,
    });
    const run = async (backend: "wasm" | "cpu") => {
      await initBackend(backend);
      const params = initParams(cfg, 4);
      const x = tf.tensor2d(
        Array.from({ length: 3 * 12 }, (_, i) => (i * 7) % 50),
        [3, 12],
        "int32",
      ) as Tensor2D;
      return forwardLogits(params, cfg, x, zeroState(cfg, 3)).logits.dataSync();
    };
    const a = await run("wasm"), b = await run("cpu");
    let err = 0;
    for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
    assert.ok(err < 1e-5, `${cell}: max |wasm − cpu| = ${err}`);
  }
  await initBackend("wasm");
});
