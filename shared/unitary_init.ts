/**
 * Initial unitary matrices W ∈ U(n) for the complex cells, in the layout the cells store:
 * [n, 2n] row-major, row i = [Re W_i,· | Im W_i,·]. Computed in float64, rounded once.
 */
import type { Prng } from "./prng.ts";
import type { RecurrentInit } from "./orthogonal_init.ts";

/** A complex n×n matrix as two float64 row-major parts. */
export interface ComplexMat {
  n: number;
  re: Float64Array;
  im: Float64Array;
}

/**
 * Haar-random unitary: Gram–Schmidt of a complex Gaussian's columns. Gram–Schmidt makes R's
 * diagonal real and positive, which is what makes Q Haar-distributed (Mezzadri 2007); each
 * column is orthogonalised twice, so Q is unitary to float64 rounding.
 */
export function haarUnitary(n: number, prng: Prng): ComplexMat {
  const re = new Float64Array(n * n), im = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) (re[i] = prng.normal(), im[i] = prng.normal());
  // Column j of Q is re/im[i·n + j], i = 0…n−1.
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        // c = q_kᴴ·v
        let cr = 0, ci = 0;
        for (let i = 0; i < n; i++) {
          const qr = re[i * n + k]!, qi = im[i * n + k]!, vr = re[i * n + j]!, vi = im[i * n + j]!;
          cr += qr * vr + qi * vi;
          ci += qr * vi - qi * vr;
        }
        for (let i = 0; i < n; i++) {
          const qr = re[i * n + k]!, qi = im[i * n + k]!;
          re[i * n + j]! -= cr * qr - ci * qi;
          im[i * n + j]! -= cr * qi + ci * qr;
        }
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += re[i * n + j]! ** 2 + im[i * n + j]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) (re[i * n + j]! /= norm, im[i * n + j]! /= norm);
  }
  return { n, re, im };
}

/**
 * Uniform phases in a random basis: W = Q·diag(e^{iθ_k})·Qᴴ with θ_k ~ U(−π, π) and Q Haar.
 * The complex counterpart of henaffOrthogonal's 2×2 rotations by uniform angles (Henaff et
 * al. 2016): every eigenvalue on the unit circle, uniformly spread, none forced to pair with
 * its conjugate as a real matrix's must.
 */
export function henaffUnitary(n: number, prng: Prng): ComplexMat {
  const theta = Array.from({ length: n }, () => (prng.next() * 2 - 1) * Math.PI);
  const q = haarUnitary(n, prng);
  const re = new Float64Array(n * n), im = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sr = 0, si = 0;
      for (let k = 0; k < n; k++) {
        // Q_ik · e^{iθ_k} · conj(Q_jk)
        const ar = q.re[i * n + k]!, ai = q.im[i * n + k]!;
        const br = q.re[j * n + k]!, bi = -q.im[j * n + k]!;
        const c = Math.cos(theta[k]!), s = Math.sin(theta[k]!);
        const er = ar * c - ai * s, ei = ar * s + ai * c;
        sr += er * br - ei * bi;
        si += er * bi + ei * br;
      }
      re[i * n + j] = sr;
      im[i * n + j] = si;
    }
  }
  return { n, re, im };
}

/** The stored layout: [n, 2n], row i = [Re W_i,· | Im W_i,·], as float32. */
export function packComplex(w: ComplexMat): Float32Array {
  const n = w.n, out = new Float32Array(2 * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      out[i * 2 * n + j] = w.re[i * n + j]!;
      out[i * 2 * n + n + j] = w.im[i * n + j]!;
    }
  }
  return out;
}

/** An n×n unitary recurrent matrix for the named scheme, packed [n, 2n] (see packComplex). */
export function unitaryMatrix(kind: RecurrentInit, n: number, prng: Prng): Float32Array {
  switch (kind) {
    case "haar":
      return packComplex(haarUnitary(n, prng));
    case "henaff":
      return packComplex(henaffUnitary(n, prng));
    case "identity": {
      const out = new Float32Array(2 * n * n);
      for (let i = 0; i < n; i++) out[i * 2 * n + i] = 1;
      return out;
    }
    case "uniform":
      throw new Error(`A unitary matrix needs haar, henaff or identity, got "${kind}"`);
  }
}
