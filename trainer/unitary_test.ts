import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../shared/tf.ts";
import { createPrng } from "../shared/prng.ts";
import { useWasm } from "../shared/testing.ts";
import { type ComplexMat, haarUnitary, packComplex } from "../shared/unitary_init.ts";
import { complexBlock, fromComplexBlock } from "../shared/cells/complex.ts";
import { expm, expmTimes } from "./expm.ts";
import { skewGenerator } from "./orthogonal.ts";
import { applyStep, initOptState } from "./optimizer.ts";
import { checkAndRepairUnitary, unitarityDrift } from "./unitary.ts";

/** Complex float64 matrices (n×n, row-major parts): product, sum, conjugate transpose. */
function cmul(a: ComplexMat, b: ComplexMat): ComplexMat {
  const n = a.n, re = new Float64Array(n * n), im = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const ar = a.re[i * n + k]!, ai = a.im[i * n + k]!;
      for (let j = 0; j < n; j++) {
        re[i * n + j]! += ar * b.re[k * n + j]! - ai * b.im[k * n + j]!;
        im[i * n + j]! += ar * b.im[k * n + j]! + ai * b.re[k * n + j]!;
      }
    }
  }
  return { n, re, im };
}
const cadd = (a: ComplexMat, b: ComplexMat, s = 1): ComplexMat => ({
  n: a.n,
  re: a.re.map((v, i) => v + s * b.re[i]!),
  im: a.im.map((v, i) => v + s * b.im[i]!),
});
function adjoint(a: ComplexMat): ComplexMat {
  const n = a.n, re = new Float64Array(n * n), im = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      (re[j * n + i] = a.re[i * n + j]!, im[j * n + i] = -a.im[i * n + j]!);
    }
  }
  return { n, re, im };
}

/** exp(X)·W by a 30-term Taylor series after scaling X by 2^−s, then s squarings. */
function cexpTimes(x: ComplexMat, w: ComplexMat): ComplexMat {
  const norm = Math.max(...x.re.map((v, i) => Math.hypot(v, x.im[i]!))) * x.n;
  const s = Math.max(0, Math.ceil(Math.log2(norm / 0.25)));
  const xs = { n: x.n, re: x.re.map((v) => v / 2 ** s), im: x.im.map((v) => v / 2 ** s) };
  const eye: ComplexMat = {
    n: x.n,
    re: new Float64Array(x.n * x.n),
    im: new Float64Array(x.n * x.n),
  };
  for (let i = 0; i < x.n; i++) eye.re[i * x.n + i] = 1;
  let term = eye, sum = eye;
  for (let k = 1; k <= 30; k++) {
    const t = cmul(term, xs);
    term = { n: x.n, re: t.re.map((v) => v / k), im: t.im.map((v) => v / k) };
    sum = cadd(sum, term);
  }
  for (let i = 0; i < s; i++) sum = cmul(sum, sum);
  return cmul(sum, w);
}

function gaussian(n: number, seed: number): ComplexMat {
  const prng = createPrng(seed);
  return {
    n,
    re: Float64Array.from({ length: n * n }, () => prng.normal()),
    im: Float64Array.from({ length: n * n }, () => prng.normal()),
  };
}

const tensorOf = (m: ComplexMat) => tf.tensor2d(packComplex(m), [m.n, 2 * m.n]);

Deno.test("the exponential of a skew-Hermitian generator is unitary to 1e-5 in float32", async () => {
  await useWasm();
  const n = 24;
  const w = tensorOf(haarUnitary(n, createPrng(1)));
  const d = tensorOf(gaussian(n, 2));
  for (const eta of [1e-3, 0.01, 0.1]) {
    // −η·A in block form: A = D·Wᴴ − W·Dᴴ, skew-Hermitian; ‖ηA‖₁ from about 0.1 to 8.
    const a = tf.mul(skewGenerator(complexBlock(w), complexBlock(d)), -eta) as Tensor2D;
    const e = fromComplexBlock(expm(a)); // exp(−ηA) alone
    const ew = fromComplexBlock(expmTimes(a, complexBlock(w))); // exp(−ηA)·W
    for (const [what, m] of [["exp(−ηA)", e], ["exp(−ηA)·W", ew]] as const) {
      const drift = await unitarityDrift(m);
      assert.ok(drift < 1e-5, `η = ${eta}, ${what}: max|WᴴW − I| = ${drift}`);
    }
    // The block of exp(−ηA) is a complex matrix's block: φ(fromφ(M)) = M.
    const block = expm(a);
    const gap = tf.max(tf.abs(tf.sub(complexBlock(fromComplexBlock(block)), block)));
    assert.ok((await gap.data())[0]! < 1e-5, `η = ${eta}: the exponential left the block form`);
  }
});

for (const plan of ["host", "device"] as const) {
  Deno.test(`applyStep() (${plan} plan) on a unitary parameter is the complex Lie step`, async () => {
    await useWasm();
    const n = 6, eta = 0.3;
    const w = haarUnitary(n, createPrng(3)), g = gaussian(n, 4);
    // float64: A = G·Wᴴ − W·Gᴴ, W' = exp(−ηA)·W
    const a = cadd(cmul(g, adjoint(w)), cmul(w, adjoint(g)), -1);
    const want = packComplex(
      cexpTimes({ n, re: a.re.map((v) => -eta * v), im: a.im.map((v) => -eta * v) }, w),
    );
    const vars: Record<string, Variable> = { U: tf.variable(tensorOf(w)) };
    const grads: Record<string, Tensor> = { U: tensorOf(g) };
    const cfg = {
      kind: "sgd" as const,
      orthKind: "sgd" as const,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      clip: 0,
      expmPlan: plan,
    };
    await applyStep(vars, grads, new Set(), cfg, initOptState(), 0, eta, new Set(["U"]));
    const got = await vars.U!.data();
    want.forEach((v, i) =>
      assert.ok(Math.abs(got[i]! - v) < 2e-5, `entry ${i}: ${got[i]} vs ${v}`)
    );
    assert.ok((await unitarityDrift(vars.U as unknown as Tensor2D)) < 1e-5);
  });
}

Deno.test("checkAndRepairUnitary() pulls a drifted complex matrix back onto U(n)", async () => {
  await useWasm();
  const n = 16;
  const noisy = tf.add(
    tensorOf(haarUnitary(n, createPrng(5))),
    tf.mul(tensorOf(gaussian(n, 6)), 1e-3),
  );
  const vars: Record<string, Variable> = { U: tf.variable(noisy as Tensor2D) };
  const { max, fixes } = await checkAndRepairUnitary(vars, ["U"], 1e-5);
  assert.ok(max > 1e-4, `drift before ${max}`);
  assert.equal(fixes.length, 1);
  assert.ok(fixes[0]!.after < 2e-6, `drift after ${fixes[0]!.after}`);
});
