import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import {
  add,
  expmReference,
  type Mat,
  mat,
  matmul,
  maxAbs,
  orthogonalityError,
} from "../shared/linalg.ts";
import { createPrng } from "../shared/prng.ts";
import { haarOrthogonal } from "../shared/orthogonal_init.ts";
import { useWasm } from "../shared/testing.ts";
import { expm, expmTimes } from "./expm.ts";
import { orthogonalityDrift, reorthogonalize, rotate } from "./orthogonal.ts";

function randomSkew(n: number, norm1: number, seed: number): Mat {
  const prng = createPrng(seed);
  const a = mat(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = prng.normal();
      a.data[i * n + j] = v;
      a.data[j * n + i] = -v;
    }
  }
  let best = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(a.data[i * n + j]!);
    best = Math.max(best, s);
  }
  return { ...a, data: a.data.map((v) => (v * norm1) / best) };
}

Deno.test("expm() of skew-symmetric A (H = 256, ‖A‖ 1e-3…10) matches float64 and stays orthogonal", async () => {
  await useWasm();
  for (const [k, norm] of [1e-3, 1e-1, 1, 10].entries()) {
    const a = randomSkew(256, norm, k);
    const ref = expmReference(a);
    const got = tf.tidy(() =>
      expm(tf.tensor2d(Float32Array.from(a.data), [256, 256]) as Tensor2D).dataSync()
    );
    const e = mat(256, 256, got);
    const err = maxAbs(add(e, ref, -1));
    const orth = orthogonalityError(e);
    assert.ok(err < 1e-5, `‖A‖₁ = ${norm}: max |expm − ref| = ${err}`);
    assert.ok(orth < 1e-5, `‖A‖₁ = ${norm}: max |EᵀE − I| = ${orth}`);
  }
});

Deno.test("expmTimes() gives exp(A)·W, by Horner on W for small ‖A‖ and through expm() for large", async () => {
  await useWasm();
  const w = haarOrthogonal(128, createPrng(9));
  for (const [k, norm] of [0, 1e-3, 0.05, 0.9, 3].entries()) {
    const a = randomSkew(128, norm, 20 + k);
    const want = matmul(expmReference(a), w);
    const got = tf.tidy(() =>
      expmTimes(
        tf.tensor2d(Float32Array.from(a.data), [128, 128]) as Tensor2D,
        tf.tensor2d(Float32Array.from(w.data), [128, 128]) as Tensor2D,
      ).dataSync()
    );
    const err = maxAbs(add(mat(128, 128, got), want, -1));
    assert.ok(err < 2e-6, `‖A‖₁ = ${norm}: max |exp(A)·W − ref| = ${err}`);
    assert.ok(orthogonalityError(mat(128, 128, got)) < 1e-5, `‖A‖₁ = ${norm}: orthogonal`);
  }
});

Deno.test("1,000 orthogonal updates with random gradients keep max |WᵀW − I| < 1e-5", async () => {
  await useWasm();
  const n = 64;
  const prng = createPrng(3);
  let w = tf.tensor2d(Float32Array.from(haarOrthogonal(n, prng).data), [n, n]) as Tensor2D;
  let fired = 0, worst = 0;
  for (let i = 0; i < 1000; i++) {
    const g = tf.tensor2d(Float32Array.from({ length: n * n }, () => prng.normal()), [
      n,
      n,
    ]) as Tensor2D;
    const next = rotate(w, g, 0.01);
    g.dispose();
    w.dispose();
    w = next;
    const drift = await orthogonalityDrift(w);
    worst = Math.max(worst, drift);
    if (drift > 5e-6) {
      const fixed = reorthogonalize(w);
      w.dispose();
      w = fixed;
      fired++;
    }
  }
  const final = await orthogonalityDrift(w);
  console.log(
    `  re-orthogonalisation fired ${fired} times in 1,000 updates; worst drift ${
      worst.toExponential(2)
    }`,
  );
  assert.ok(worst < 1e-5, `drift reached ${worst}`);
  assert.ok(final < 1e-5);
});

Deno.test("reorthogonalize() pulls a perturbed matrix back to orthogonal", async () => {
  await useWasm();
  const n = 32;
  const prng = createPrng(8);
  const q = haarOrthogonal(n, prng);
  const noisy = tf.tensor2d(Float32Array.from(q.data, (v) => v + 1e-3 * prng.normal()), [
    n,
    n,
  ]) as Tensor2D;
  assert.ok((await orthogonalityDrift(noisy)) > 1e-4);
  assert.ok((await orthogonalityDrift(reorthogonalize(noisy))) < 2e-6);
});
