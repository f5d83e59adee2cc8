import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import type { Tensor, Tensor2D } from "./tf.ts";
import { type ModelConfigInput, parseModelConfig } from "./config.ts";
import {
  forwardLoss,
  initParams,
  orthogonalParams,
  type Params,
  unitaryParams,
  zeroState,
} from "./model.ts";
import { createPrng } from "./prng.ts";
import { useWasm } from "./testing.ts";
import { ACTIVATIONS } from "./activations.ts";

const SMALL = { vocabSize: 11, embedSize: 5, hiddenSize: 6 };

const VARIANTS: ModelConfigInput[] = [
  ...ACTIVATIONS.map((activation) => ({ cell: "rnn" as const, activation, ...SMALL })),
  { cell: "urnn", activation: "abs", ...SMALL },
  { cell: "urnn", activation: "modrelu", ...SMALL },
  { cell: "gru", ...SMALL },
  { cell: "ugru", ...SMALL, layers: 2 },
  { cell: "lstm", ...SMALL },
  { cell: "ugru", vocabSize: 11, embedSize: 6, hiddenSize: 6, tieWeights: true },
  { cell: "curnn", activation: "modrelu", ...SMALL },
  { cell: "curnn", activation: "tanh", ...SMALL, layers: 2 },
  { cell: "cugru", ...SMALL },
  { cell: "cugru", vocabSize: 11, embedSize: 6, hiddenSize: 6, tieWeights: true },
];

function batch(seed: number, b: number, t: number, v: number): { x: Tensor2D; y: Tensor2D } {
  const prng = createPrng(seed);
  const ids = Array.from({ length: b * (t + 1) }, () => prng.int(v));
  const all = tf.tensor2d(ids, [b, t + 1], "int32");
  return { x: tf.slice(all, [0, 0], [b, t]), y: tf.slice(all, [0, 1], [b, t]) };
}

function lossOf(params: Params, cfgIn: ModelConfigInput, x: Tensor2D, y: Tensor2D): number {
  const cfg = parseModelConfig(cfgIn);
  return tf.tidy(() =>
    forwardLoss(params, cfg, x, y, zeroState(cfg, x.shape[0])).loss.dataSync()[0]!
  );
}

for (const variant of VARIANTS) {
  const label = `${variant.cell}${variant.activation ? `(${variant.activation})` : ""}` +
    `${variant.layers ? ` ×${variant.layers}` : ""}${variant.tieWeights ? " tied" : ""}`;
  Deno.test(`forwardLoss() gradients of ${label} match central differences on wasm`, async () => {
    await useWasm();
    const cfg = parseModelConfig(variant);
    // Larger weights than the default init, so the loss moves well above float32 rounding
    // when a parameter is nudged; orthogonal and unitary matrices keep their (Haar) values.
    const orth = new Set([...orthogonalParams(cfg), ...unitaryParams(cfg)]);
    const wprng = createPrng(5);
    const params = Object.fromEntries(
      Object.entries(initParams(cfg, 7)).map(([k, v]) => [
        k,
        orth.has(k)
          ? v
          : tf.tensor(Array.from({ length: v.size }, () => 0.5 * wprng.normal()), v.shape),
      ]),
    );
    const { x, y } = batch(3, 3, 4, cfg.vocabSize);
    const names = Object.keys(params);
    const { grads } = tf.tidy(() => {
      const g = tf.grads((...ts: Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
        return forwardLoss(p, cfg, x, y, zeroState(cfg, 3)).loss;
      });
      return { grads: g(names.map((n) => params[n]!)).map((t) => tf.keep(t)) };
    });
    const prng = createPrng(11);
    const eps = 2e-3;
    for (const [i, name] of names.entries()) {
      // Directional derivative along a random unit direction: ⟨g, d⟩ vs (L(θ+εd) − L(θ−εd)) / 2ε.
      const p0 = params[name]!;
      const d = tf.tensor(Array.from({ length: p0.size }, () => prng.normal()), p0.shape);
      const dn = tf.div(d, tf.norm(d));
      const analytic = tf.sum(tf.mul(grads[i]!, dn)).dataSync()[0]!;
      const plus = { ...params, [name]: tf.add(p0, tf.mul(dn, eps)) };
      const minus = { ...params, [name]: tf.sub(p0, tf.mul(dn, eps)) };
      const numeric = (lossOf(plus, variant, x, y) - lossOf(minus, variant, x, y)) / (2 * eps);
      const gnorm = tf.norm(grads[i]!).dataSync()[0]!;
      const err = Math.abs(analytic - numeric) / Math.max(gnorm, 1e-6);
      assert.ok(
        err < 1e-2,
        `${name}: analytic ${analytic} vs numeric ${numeric} (‖g‖ ${gnorm}, rel ${err})`,
      );
    }
  });
}

Deno.test("orthogonalParams() declares U for urnn and the three blocks for ugru", () => {
  assert.deepEqual(orthogonalParams(parseModelConfig({ cell: "urnn", ...SMALL })), ["layer0/U"]);
  assert.deepEqual(orthogonalParams(parseModelConfig({ cell: "ugru", ...SMALL, layers: 2 })), [
    "layer0/U_r",
    "layer0/U_z",
    "layer0/U_n",
    "layer1/U_r",
    "layer1/U_z",
    "layer1/U_n",
  ]);
  assert.deepEqual(orthogonalParams(parseModelConfig({ cell: "gru", ...SMALL })), []);
});

Deno.test("unitaryParams() declares U for curnn and the three complex blocks for cugru", () => {
  assert.deepEqual(unitaryParams(parseModelConfig({ cell: "curnn", ...SMALL })), ["layer0/U"]);
  assert.deepEqual(unitaryParams(parseModelConfig({ cell: "cugru", ...SMALL })), [
    "layer0/U_r",
    "layer0/U_z",
    "layer0/U_n",
  ]);
  assert.deepEqual(orthogonalParams(parseModelConfig({ cell: "cugru", ...SMALL })), []);
  assert.deepEqual(unitaryParams(parseModelConfig({ cell: "ugru", ...SMALL })), []);
  assert.throws(
    () => parseModelConfig({ cell: "curnn", ...SMALL, hiddenSize: 7 }),
    /even hiddenSize/,
  );
});
