import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import type { Tensor, Tensor2D } from "./tf.ts";
import { type ModelConfigInput, parseModelConfig } from "./config.ts";
import { forwardHidden, initParams, zeroState } from "./model.ts";
import { ACTIVATIONS } from "./activations.ts";
import { canFuse } from "./fused_cells.ts";
import { createPrng } from "./prng.ts";
import { useWasm } from "./testing.ts";

const SMALL = { vocabSize: 13, embedSize: 7, hiddenSize: 9 };
const VARIANTS: ModelConfigInput[] = [
  ...ACTIVATIONS.map((activation) => ({ cell: "urnn" as const, activation, ...SMALL })),
  { cell: "rnn", activation: "leaky_relu", leakySlope: 0.2, ...SMALL },
  { cell: "gru", ...SMALL },
  { cell: "ugru", ...SMALL, layers: 2 },
  { cell: "lstm", ...SMALL },
  { cell: "curnn", activation: "modrelu", ...SMALL, hiddenSize: 10 },
  { cell: "curnn", activation: "leaky_relu", ...SMALL, hiddenSize: 10 },
  { cell: "cugru", ...SMALL, hiddenSize: 10, layers: 2 },
];

/** f's value computed while a gradient tape records, so the cells take their composed ops. */
function composed(f: () => Tensor): { value: Tensor; fused: boolean } {
  let value: Tensor | undefined, fused = true;
  tf.tidy(() =>
    tf.grad((x: Tensor) => {
      fused = canFuse();
      value = tf.keep(f());
      return tf.sum(x);
    })(tf.scalar(0))
  );
  return { value: value!, fused };
}

for (const variant of VARIANTS) {
  const label = `${variant.cell}(${variant.activation ?? "gates"})${
    variant.layers ? ` ×${variant.layers}` : ""
  }`;
  Deno.test(`fused ${label} steps give the composed ops' hidden states`, async () => {
    await useWasm();
    const cfg = parseModelConfig(variant);
    // Weights large enough that every activation's branches (negative, clipped) are taken.
    const prng = createPrng(11);
    const params = Object.fromEntries(
      Object.entries(initParams(cfg, 3)).map(([k, v]) => [
        k,
        tf.tensor(Array.from({ length: v.size }, () => prng.normal()), v.shape),
      ]),
    );
    const ids = Array.from({ length: 4 * 6 }, () => prng.int(cfg.vocabSize));
    const x = tf.tensor2d(ids, [4, 6], "int32") as Tensor2D;
    const run = () => forwardHidden(params, cfg, x, zeroState(cfg, 4)).hidden;
    const before = tf.memory().numTensors;
    assert.ok(canFuse(), "no tape and the wasm backend: the fused kernels run");
    const fused = tf.tidy(run);
    assert.equal(tf.memory().numTensors, before + 1, "the fused run keeps only its result");
    const ref = composed(run);
    assert.equal(ref.fused, false, "under a tape the cells use their differentiable ops");
    const a = Array.from(fused.dataSync()), b = Array.from(ref.value.dataSync());
    assert.equal(a.length, b.length);
    // Relative: the unbounded activations grow large over six steps of N(0, 1) weights.
    const worst = a.reduce(
      (m, v, i) => Math.max(m, Math.abs(v - b[i]!) / (1 + Math.abs(b[i]!))),
      0,
    );
    assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
    if (variant.activation !== "relu" && variant.activation !== "abs") {
      assert.ok(b.some((v) => v < 0), "negative states reached");
    }
    tf.dispose([fused, ref.value]);
  });
}

Deno.test("fused steps are not used on the cpu backend", async () => {
  await useWasm();
  await tf.setBackend("cpu");
  try {
    assert.equal(canFuse(), false);
  } finally {
    await tf.setBackend("wasm");
  }
});
