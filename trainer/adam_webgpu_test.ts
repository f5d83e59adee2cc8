import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import type { Tensor, Variable } from "../shared/tf.ts";
import { countDispatches } from "../shared/dispatch_count.ts";
import { createPrng } from "../shared/prng.ts";
import { haarOrthogonal } from "../shared/orthogonal_init.ts";
import { unitaryMatrix } from "../shared/unitary_init.ts";
import { complexBlock } from "../shared/cells/complex.ts";
import { mat, orthogonalityError } from "../shared/linalg.ts";
import { relativeError, useWasm, useWebGpu } from "../shared/testing.ts";
import { gpuErrors } from "../shared/webgpu.ts";
import { adamWebGpu, globalNormWebGpu, sgdWebGpu } from "./adam_webgpu.ts";
import {
  ADAM_DEFAULTS,
  applyStepOnDevice,
  initOptState,
  type OptimizerConfig,
} from "./optimizer.ts";

function rand(shape: number[], s: number, seed: number): Tensor {
  const prng = createPrng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => s * prng.normal()), shape);
}

/** Run `f` on webgpu (skipping where there is no adapter), checking for validation errors. */
async function onWebGpu(f: () => Promise<void>) {
  if (!(await useWebGpu())) return;
  const errors0 = gpuErrors.length;
  try {
    await f();
    assert.deepEqual(gpuErrors.slice(errors0), []);
  } finally {
    await useWasm();
  }
}

/** Random gradients for `steps` steps, one per parameter of `values`. */
function stepGrads(values: Record<string, Tensor>, steps: number) {
  return Array.from({ length: steps }, (_, s) =>
    Object.fromEntries(
      Object.entries(values).map(([k, v], i) => [k, rand(v.shape, 3, 10 * s + i)]),
    ));
}

/**
 * `grads.length` steps of applyStepOnDevice from `values`, fused kernels or composed ops: the
 * parameters after, each step's norm, the last step's dispatches and every read.
 */
async function runSteps(
  values: Record<string, Tensor>,
  grads: Record<string, Tensor>[],
  kind: "adam" | "sgd",
  fused: boolean,
  orth: Set<string>,
  unitary: Set<string> = new Set(),
) {
  const vars: Record<string, Variable> = {};
  for (const [k, v] of Object.entries(values)) vars[k] = tf.variable(v.clone(), true);
  const st = initOptState();
  const c: OptimizerConfig = {
    kind,
    orthKind: kind,
    ...ADAM_DEFAULTS,
    clip: 1,
    expmPlan: "device",
    fused,
  };
  const norms: number[] = [];
  let dispatches = 0, reads = 0;
  for (const g of grads) {
    const { result, count } = await countDispatches(() =>
      applyStepOnDevice(vars, g, orth, c, st, 0.01, 0.05, unitary)
    );
    dispatches = count.dispatches;
    reads += count.reads;
    norms.push((await result.data())[0]!);
    result.dispose();
  }
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(vars)) out[k] = (await v.data()) as Float32Array;
  Object.values(vars).forEach((v) => v.dispose());
  tf.dispose([...Object.values(st.m), ...Object.values(st.v)]);
  return { out, norms, dispatches, reads };
}

Deno.test("globalNormWebGpu() equals √Σ‖g‖² of the composed ops, one dispatch per 6 gradients", async () => {
  await onWebGpu(async () => {
    const shapes = [[3000], [7, 5], [1], [40, 3], [2, 2, 2], [9], [300, 4], [5]];
    const gs = shapes.map((s, i) => rand(s, i + 1, 20 + i));
    let want = 0;
    for (const g of gs) for (const x of await g.data()) want += x * x;
    const composed = tf.tidy(() => tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g))))));
    const { result, count } = await countDispatches(() => globalNormWebGpu(gs));
    assert.equal(count.dispatches, 2);
    assert.deepEqual(result.shape, []);
    const got = (await result.data())[0]!;
    assert.ok(relativeError([Math.sqrt(want)], [got]) < 1e-6, `${got} vs ${Math.sqrt(want)}`);
    assert.ok(relativeError(await composed.data(), [got]) < 1e-6);
    const one = await countDispatches(() => globalNormWebGpu(gs.slice(0, 3)));
    assert.equal(one.count.dispatches, 1);
    tf.dispose([...gs, composed, result, one.result]);
  });
});

Deno.test("adamWebGpu() and sgdWebGpu() equal the composed ops, clipping on and off", async () => {
  await onWebGpu(async () => {
    const shape = [37, 11];
    const w = rand(shape, 1, 1), g = rand(shape, 3, 2), m = rand(shape, 0.1, 3);
    const v = tf.abs(rand(shape, 0.1, 4));
    const { beta1, beta2, eps } = ADAM_DEFAULTS, lr = 0.01, step = 3;
    const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
    for (const [clip, normValue] of [[1, 5], [10, 5], [0, 5]]) {
      const norm = tf.scalar(normValue!);
      // optimizer.ts's composed ops.
      const want = tf.tidy(() => {
        const s = clip! > 0 ? tf.minimum(tf.div(clip!, norm), 1) : tf.scalar(1);
        const c = tf.mul(g, s);
        const m2 = tf.add(tf.mul(m, beta1), tf.mul(c, 1 - beta1));
        const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(c), 1 - beta2));
        const d = tf.div(tf.div(m2, bc1), tf.add(tf.sqrt(tf.div(v2, bc2)), eps));
        return { w: tf.sub(w, tf.mul(d, lr)), m: m2, v: v2, sgd: tf.sub(w, tf.mul(c, lr)) };
      });
      const attrs = { beta1, beta2, eps, clip: clip!, lr, bc1, bc2 };
      const { result: got, count } = await countDispatches(() =>
        adamWebGpu(w, g, m, v, norm, attrs)
      );
      assert.equal(count.dispatches, 3);
      for (const k of ["w", "m", "v"] as const) {
        assert.deepEqual(got[k].shape, shape);
        const e = relativeError(await want[k].data(), await got[k].data());
        assert.ok(e <= 1e-6, `clip ${clip}: ${k} differs by relative ${e}`);
      }
      const sgd = sgdWebGpu(w, g, norm, clip!, lr);
      const e = relativeError(await want.sgd.data(), await sgd.data());
      assert.ok(e <= 1e-6, `clip ${clip}: sgd differs by relative ${e}`);
      tf.dispose([norm, sgd, ...Object.values(want), ...Object.values(got)]);
    }
    tf.dispose([w, g, m, v]);
  });
});

Deno.test("applyStepOnDevice() on webgpu: the fused kernels follow the composed ops for 5 steps", async () => {
  await onWebGpu(async () => {
    const prng = createPrng(9);
    const orthogonal = () => Float32Array.from(haarOrthogonal(16, prng).data);
    const values: Record<string, Tensor> = {
      U: tf.tensor2d(orthogonal(), [16, 16]),
      V: tf.tensor2d(orthogonal(), [16, 16]),
      W: rand([8, 16], 0.1, 5),
      b: rand([16], 0.1, 6),
    };
    const grads = stepGrads(values, 5);
    const orth = new Set(["U", "V"]);
    for (const kind of ["adam", "sgd"] as const) {
      const run = (fused: boolean) => runSteps(values, grads, kind, fused, orth);
      const composed = await run(false), fused = await run(true);
      assert.equal(fused.reads, 0);
      // Norm; W, b: 3 (Adam) or 1 (SGD) each; U, V: their moments (Adam), then 2·2 + 8.
      const want = 1 + (kind === "adam" ? 2 * 3 + 2 * 2 : 2) + 2 * 2 + 8;
      assert.equal(fused.dispatches, want, `${kind}: composed ${composed.dispatches}`);
      assert.ok(relativeError(composed.norms, fused.norms) < 1e-6);
      for (const k of Object.keys(values)) {
        const e = relativeError(composed.out[k]!, fused.out[k]!);
        assert.ok(e < 1e-5, `${kind}: ${k} differs by relative ${e}`);
      }
      assert.ok(orthogonalityError(mat(16, 16, fused.out.U!)) < 1e-5);
    }
    tf.dispose([...Object.values(values), ...grads.flatMap((g) => Object.values(g))]);
  });
});

Deno.test("applyStepOnDevice() on webgpu: unitary matrices by the fused kernels follow the composed ops", async () => {
  await onWebGpu(async () => {
    const prng = createPrng(4);
    const K = 8;
    const values: Record<string, Tensor> = {
      C: tf.tensor2d(unitaryMatrix("haar", K, prng), [K, 2 * K]),
      D: tf.tensor2d(unitaryMatrix("henaff", K, prng), [K, 2 * K]),
      U: tf.tensor2d(Float32Array.from(haarOrthogonal(2 * K, prng).data), [2 * K, 2 * K]),
      b: rand([2 * K], 0.1, 6),
    };
    const grads = stepGrads(values, 3);
    for (const kind of ["adam", "sgd"] as const) {
      const run = (fused: boolean) =>
        runSteps(values, grads, kind, fused, new Set(["U"]), new Set(["C", "D"]));
      const composed = await run(false), fused = await run(true);
      assert.equal(fused.reads, 0);
      assert.ok(
        fused.dispatches < composed.dispatches / 2,
        `${kind}: fused ${fused.dispatches}, composed ${composed.dispatches}`,
      );
      for (const k of Object.keys(values)) {
        const e = relativeError(composed.out[k]!, fused.out[k]!);
        assert.ok(e < 1e-5, `${kind}: ${k} differs by relative ${e}`);
        const before = (await values[k]!.data()) as Float32Array;
        assert.ok(relativeError(before, fused.out[k]!) > 1e-3, `${k} moved`);
      }
      for (const k of ["C", "D"]) {
        // Unitary: its real block is orthogonal.
        const block = complexBlock(tf.tensor2d(fused.out[k]!, [K, 2 * K]));
        const m = mat(2 * K, 2 * K, (await block.data()) as Float32Array);
        assert.ok(orthogonalityError(m) < 1e-5, `${k}: unitary`);
        block.dispose();
      }
      console.log(
        `  ${kind}: ${fused.dispatches} dispatches a step, ${composed.dispatches} composed`,
      );
    }
    tf.dispose([...Object.values(values), ...grads.flatMap((g) => Object.values(g))]);
  });
});
