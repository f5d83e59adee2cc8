import type { Prng } from "./prng.ts";
import { identity, type Mat, mat, qr } from "./linalg.ts";

export const RECURRENT_INITS = ["uniform", "haar", "identity", "henaff"] as const;
export type RecurrentInit = (typeof RECURRENT_INITS)[number];

/** Haar-random orthogonal matrix: QR of a Gaussian with R's diagonal signs folded into Q. */
export function haarOrthogonal(n: number, prng: Prng): Mat {
  const g = mat(n, n);
  for (let i = 0; i < g.data.length; i++) g.data[i] = prng.normal();
  const { q, rDiagSign } = qr(g);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) q.data[i * n + j]! *= rDiagSign[j]!;
  }
  return q;
}

/**
 * Henaff et al. (2016) style: block-diagonal 2×2 rotations with angles drawn from
 * U(−π, π), i.e. exp(A) for a block-diagonal skew-symmetric A (odd n keeps a final 1).
 */
export function henaffOrthogonal(n: number, prng: Prng): Mat {
  const m = identity(n);
  for (let k = 0; k + 1 < n; k += 2) {
    const th = (prng.next() * 2 - 1) * Math.PI;
    const c = Math.cos(th), s = Math.sin(th);
    m.data[k * n + k] = c;
    m.data[k * n + k + 1] = -s;
    m.data[(k + 1) * n + k] = s;
    m.data[(k + 1) * n + k + 1] = c;
  }
  return m;
}

/** An n×n recurrent matrix for the named scheme, as float32 row-major values. */
export function recurrentMatrix(kind: RecurrentInit, n: number, prng: Prng): Float32Array {
  switch (kind) {
    case "haar":
      return Float32Array.from(haarOrthogonal(n, prng).data);
    case "identity":
      return Float32Array.from(identity(n).data);
    case "henaff":
      return Float32Array.from(henaffOrthogonal(n, prng).data);
    case "uniform":
      return uniform(n * n, 1 / Math.sqrt(n), prng);
  }
}

/** Values drawn from U(−limit, limit). */
export function uniform(size: number, limit: number, prng: Prng): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (prng.next() * 2 - 1) * limit;
  return out;
}
