import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import type { Tensor, Tensor2D } from "./tf.ts";
import { ACTIVATIONS } from "./activations.ts";
import { describeBackend } from "./backend.ts";
import { type ModelConfig, type ModelConfigInput, parseModelConfig } from "./config.ts";
import { forwardLogits, forwardLoss, initParams, type Params, zeroState } from "./model.ts";
import { createPrng } from "./prng.ts";
import { relativeError, useWasm, useWebGpu } from "./testing.ts";
import { describeAdapter, gpuErrors, isSoftwareAdapter } from "./webgpu.ts";

// Tiny sizes: on a software adapter every new shape compiles shaders on the CPU.
const SMALL = { vocabSize: 11, embedSize: 5, hiddenSize: 6 };
const VARIANTS: ModelConfigInput[] = [
  ...ACTIVATIONS.map((activation) => ({ cell: "rnn" as const, activation, ...SMALL })),
  { cell: "urnn", activation: "modrelu", ...SMALL },
  { cell: "gru", ...SMALL },
  { cell: "ugru", ...SMALL, layers: 2 },
  { cell: "lstm", ...SMALL },
  { cell: "ugru", vocabSize: 11, embedSize: 6, hiddenSize: 6, tieWeights: true },
];
const B = 3, T = 4;

const label = (v: ModelConfigInput) =>
  `${v.cell}${v.activation ? `(${v.activation})` : ""}${v.layers ? ` ×${v.layers}` : ""}${
    v.tieWeights ? " tied" : ""
  }`;

/** Parameters as host arrays, so each backend builds its own tensors from the same values. */
async function hostParams(cfg: ModelConfig, seed: number): Promise<Record<string, Float32Array>> {
  const params = initParams(cfg, seed);
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(params)) out[k] = (await v.data()) as Float32Array;
  tf.dispose(Object.values(params));
  return out;
}

function tensors(cfg: ModelConfig, host: Record<string, Float32Array>): Params {
  const shapes = initParams(cfg, 0);
  const out: Params = {};
  for (const [k, v] of Object.entries(shapes)) out[k] = tf.tensor(host[k]!, v.shape);
  tf.dispose(Object.values(shapes));
  return out;
}

function tokens(seed: number, v: number): Int32Array {
  const prng = createPrng(seed);
  return Int32Array.from({ length: B * (T + 1) }, () => prng.int(v));
}

/** Logits [T·B, V] and the loss's gradient of every parameter, on the current backend. */
async function run(cfg: ModelConfig, host: Record<string, Float32Array>, ids: Int32Array) {
  const params = tensors(cfg, host);
  const names = Object.keys(params);
  const all = tf.tensor2d(ids, [B, T + 1], "int32");
  const x = tf.slice(all, [0, 0], [B, T]) as Tensor2D, y = tf.slice(all, [0, 1], [B, T]);
  const logits = tf.tidy(() => forwardLogits(params, cfg, x, zeroState(cfg, B)).logits);
  const { value, grads } = tf.valueAndGrads((...ts: Tensor[]) => {
    const p = Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
    return forwardLoss(p, cfg, x, y as Tensor2D, zeroState(cfg, B)).loss;
  })(names.map((n) => params[n]!));
  const out = {
    logits: (await logits.data()) as Float32Array,
    loss: (await value.data())[0]!,
    grads: Object.fromEntries(
      await Promise.all(
        names.map(async (n, i) => [n, (await grads[i]!.data()) as Float32Array] as const),
      ),
    ),
  };
  tf.dispose([logits, value, ...grads, all, x, y, ...Object.values(params)]);
  return out;
}

Deno.test("every cell's logits and gradients on webgpu agree with wasm to 1e-4", async () => {
  await useWasm();
  const cases = [];
  for (const [i, v] of VARIANTS.entries()) {
    const cfg = parseModelConfig(v);
    const host = await hostParams(cfg, 3 + i);
    const ids = tokens(20 + i, cfg.vocabSize);
    // wasm runs its fused inference kernels for the logits: an independent computation.
    cases.push({ v, cfg, host, ids, wasm: await run(cfg, host, ids) });
  }
  if (!(await useWebGpu())) return;
  try {
    assert.equal(tf.getBackend(), "webgpu");
    const errors0 = gpuErrors.length;
    for (const c of cases) {
      const gpu = await run(c.cfg, c.host, c.ids);
      const e = relativeError(c.wasm.logits, gpu.logits);
      assert.ok(e <= 1e-4, `${label(c.v)}: logits differ by relative ${e}`);
      assert.ok(Math.abs(gpu.loss - c.wasm.loss) <= 1e-4 * c.wasm.loss, `${label(c.v)}: loss`);
      for (const [name, g] of Object.entries(c.wasm.grads)) {
        const eg = relativeError(g, gpu.grads[name]!);
        assert.ok(eg <= 1e-4, `${label(c.v)}: ∂loss/∂${name} differs by relative ${eg}`);
      }
    }
    assert.deepEqual(gpuErrors.slice(errors0), []);
  } finally {
    await useWasm();
  }
});

Deno.test("forwardLoss() gradients on webgpu match central differences", async () => {
  if (!(await useWebGpu())) return;
  try {
    for (const v of [{ cell: "ugru" as const, ...SMALL }, { cell: "lstm" as const, ...SMALL }]) {
      const cfg = parseModelConfig(v);
      // Larger weights than the default init, so the loss moves well above float32 rounding.
      const wprng = createPrng(5);
      const host = Object.fromEntries(
        Object.entries(await hostParams(cfg, 7)).map(([k, a]) => [
          k,
          /^layer\d+\/U/.test(k) ? a : Float32Array.from(a, () => 0.5 * wprng.normal()),
        ]),
      );
      const ids = tokens(3, cfg.vocabSize);
      const { grads } = await run(cfg, host, ids);
      const lossAt = async (h: Record<string, Float32Array>) => (await run(cfg, h, ids)).loss;
      const prng = createPrng(11);
      const eps = 2e-3;
      for (const [name, g] of Object.entries(grads)) {
        // Directional derivative along a random unit direction: ⟨g, d⟩ vs a central difference.
        const d = Float64Array.from(g, () => prng.normal());
        const dn = Math.hypot(...d);
        const analytic = g.reduce((s, gi, i) => s + gi * d[i]! / dn, 0);
        const shifted = (sign: number) => ({
          ...host,
          [name]: Float32Array.from(host[name]!, (p, i) => p + sign * eps * d[i]! / dn),
        });
        const numeric = ((await lossAt(shifted(1))) - (await lossAt(shifted(-1)))) / (2 * eps);
        const gnorm = Math.hypot(...g);
        const err = Math.abs(analytic - numeric) / Math.max(gnorm, 1e-6);
        assert.ok(err < 1e-2, `${v.cell} ${name}: analytic ${analytic} vs numeric ${numeric}`);
      }
    }
  } finally {
    await useWasm();
  }
});

Deno.test("AddN of more tensors than a shader may bind sums them all on webgpu", async () => {
  if (!(await useWebGpu())) return;
  try {
    const xs = Array.from({ length: 20 }, (_, i) => tf.fill([3], i + 1));
    const sum = tf.addN(xs);
    assert.deepEqual(Array.from(await sum.data()), [210, 210, 210]);
    tf.dispose([sum, ...xs]);
  } finally {
    await useWasm();
  }
});

Deno.test("isSoftwareAdapter() knows the CPU renderers; describeBackend() names the adapter", () => {
  assert.ok(isSoftwareAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" }));
  assert.ok(isSoftwareAdapter({ device: "SwiftShader Device (Subzero)" }));
  assert.ok(isSoftwareAdapter({ description: "NVIDIA H100", isFallbackAdapter: true }));
  assert.ok(!isSoftwareAdapter({ vendor: "nvidia", description: "NVIDIA H100 80GB HBM3" }));
  const adapter = {
    vendor: "65541",
    architecture: "",
    device: "0",
    description: "llvmpipe (LLVM 15.0.6, 256 bits)",
    software: true,
  };
  assert.equal(
    describeAdapter(adapter),
    '"llvmpipe (LLVM 15.0.6, 256 bits)" (vendor 0x10005, software: runs on the CPU)',
  );
  assert.equal(
    describeBackend({ name: "webgpu", reason: "requested", adapter }),
    'backend webgpu (requested) on "llvmpipe (LLVM 15.0.6, 256 bits)" (vendor 0x10005, ' +
      "software: runs on the CPU)",
  );
});
