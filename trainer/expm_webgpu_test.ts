import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import {
  add,
  expmReference,
  mat,
  matmul,
  maxAbs,
  orthogonalityError,
  scale,
  transpose,
} from "../shared/linalg.ts";
import { countDispatches } from "../shared/dispatch_count.ts";
import { createPrng } from "../shared/prng.ts";
import { haarOrthogonal } from "../shared/orthogonal_init.ts";
import { relativeError, useWasm, useWebGpu } from "../shared/testing.ts";
import { gpuErrors } from "../shared/webgpu.ts";
import { expmTimesOnDevice } from "./expm.ts";
import { orthStepWebGpu } from "./expm_webgpu.ts";
import { skewGenerator } from "./orthogonal.ts";

const N = 16; // small: on a software adapter every shape compiles its shaders on the CPU

/** A skew-symmetric S with ‖S‖₁ = norm1 and an orthogonal W, and G = S·W/2: G·Wᵀ − W·Gᵀ = S. */
function problem(norm1: number, seed: number) {
  const prng = createPrng(seed);
  const s = mat(N, N);
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      const v = prng.normal();
      s.data[i * N + j] = v;
      s.data[j * N + i] = -v;
    }
  }
  let best = 0;
  for (let j = 0; j < N; j++) {
    let c = 0;
    for (let i = 0; i < N; i++) c += Math.abs(s.data[i * N + j]!);
    best = Math.max(best, c);
  }
  const w = mat(N, N, Float32Array.from(haarOrthogonal(N, prng).data));
  const g = mat(N, N, Float32Array.from(scale(matmul(scale(s, norm1 / (best || 1)), w), 0.5).data));
  // The generator of the float32 values themselves, in float64: the reference's input.
  const a = add(matmul(g, transpose(w)), matmul(w, transpose(g)), -1);
  return { w, g, a };
}

const tensor = (m: { data: Float64Array }) =>
  tf.tensor2d(Float32Array.from(m.data), [N, N]) as Tensor2D;

Deno.test("orthStepWebGpu() gives exp(A)·W as the composed ops do, in 2k + 8 dispatches", async () => {
  if (!(await useWebGpu())) return;
  const errors0 = gpuErrors.length;
  try {
    const norms = [0, 1e-3, 0.05, 0.9, 3, 12];
    const cases = norms.map((v, i) => problem(v, 80 + i));
    const ws = cases.map((c) => tensor(c.w)), gs = cases.map((c) => tensor(c.g));
    // lrOrth = −1 and no clipping: W ← exp(G·Wᵀ − W·Gᵀ)·W.
    const attrs = { lrOrth: -1, bc1: 1, bc2: 1, eps: 0, clip: 0 };
    const norm = tf.scalar(1);
    const { result: fused, count } = await countDispatches(() =>
      orthStepWebGpu(ws, { g: gs, norm }, attrs)
    );
    assert.equal(count.dispatches, 2 * norms.length + 8);
    assert.equal(count.reads, 0);
    const composed = ws.map((w, i) =>
      tf.tidy(() => expmTimesOnDevice(skewGenerator(w, gs[i]!), w))
    );
    for (const [i, c] of cases.entries()) {
      const got = mat(N, N, await fused[i]!.data());
      const want = matmul(expmReference(c.a), c.w);
      const err = maxAbs(add(got, want, -1));
      assert.ok(err < 5e-6, `‖A‖₁ = ${norms[i]}: max |exp(A)·W − ref| = ${err}`);
      assert.ok(orthogonalityError(got) < 1e-5, `‖A‖₁ = ${norms[i]}: orthogonal`);
      const rel = relativeError(await composed[i]!.data(), got.data);
      assert.ok(rel < 5e-6, `‖A‖₁ = ${norms[i]}: relative to the composed ops ${rel}`);
    }
    tf.dispose([...ws, ...gs, norm, ...fused, ...composed]);
    assert.deepEqual(gpuErrors.slice(errors0), []);
  } finally {
    await useWasm();
  }
});
