import assert from "node:assert/strict";
import { createPrng } from "./prng.ts";
import { type ComplexMat, haarUnitary, henaffUnitary, unitaryMatrix } from "./unitary_init.ts";

/** max |WᴴW − I| over the complex entries, in float64. */
function drift(w: ComplexMat): number {
  const n = w.n;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let re = i === j ? -1 : 0, im = 0;
      for (let k = 0; k < n; k++) {
        // conj(W_ki) · W_kj
        const ar = w.re[k * n + i]!, ai = -w.im[k * n + i]!, br = w.re[k * n + j]!;
        const bi = w.im[k * n + j]!;
        re += ar * br - ai * bi;
        im += ar * bi + ai * br;
      }
      worst = Math.max(worst, Math.hypot(re, im));
    }
  }
  return worst;
}

const unpack = (u: Float32Array, n: number): ComplexMat => {
  const re = new Float64Array(n * n), im = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      (re[i * n + j] = u[i * 2 * n + j]!, im[i * n + j] = u[i * 2 * n + n + j]!);
    }
  }
  return { n, re, im };
};

Deno.test("haarUnitary() and henaffUnitary() are unitary in float64 and after float32 packing", () => {
  for (const n of [1, 5, 32]) {
    assert.ok(drift(haarUnitary(n, createPrng(n))) < 1e-12);
    assert.ok(drift(henaffUnitary(n, createPrng(n))) < 1e-12);
    for (const kind of ["haar", "henaff", "identity"] as const) {
      const d = drift(unpack(unitaryMatrix(kind, n, createPrng(3)), n));
      assert.ok(d < 1e-6, `${kind} n=${n}: ${d}`);
    }
  }
  assert.throws(() => unitaryMatrix("uniform", 4, createPrng(1)), /got "uniform"/);
});

Deno.test("henaffUnitary() has its eigenvalues' phases spread, haarUnitary() is seeded", () => {
  const a = unitaryMatrix("haar", 8, createPrng(5)), b = unitaryMatrix("haar", 8, createPrng(5));
  assert.deepEqual(a, b);
  // Trace = Σ e^{iθ_k}: for uniform phases its modulus is far below n (here n = 64).
  const w = henaffUnitary(64, createPrng(2));
  let tr = 0, ti = 0;
  for (let i = 0; i < 64; i++) (tr += w.re[i * 64 + i]!, ti += w.im[i * 64 + i]!);
  assert.ok(Math.hypot(tr, ti) < 32, `|trace| ${Math.hypot(tr, ti)}`);
});
