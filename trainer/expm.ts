/**
 * Matrix exponential of a (skew-symmetric) matrix with tfjs ops only, so it runs on wasm:
 * scaling and squaring with a Taylor polynomial whose degree adapts to ‖A‖ (Higham 2005 uses
 * Padé; Taylor needs no linear solve, which tfjs lacks on wasm). The optimizer's steps have
 * small ‖ηA‖, so they need few terms: that is what keeps the orthogonal step cheap.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor2D, Tensor3D } from "../shared/tf.ts";

/** Squarings s and Taylor degree m for a matrix of 1-norm `norm`: ‖A/2^s‖ ≤ 1, error < 2⁻²⁶
 * (each squaring also doubles float32 rounding, so fewer squarings and more terms win). */
export function expmPlan(norm: number): { squarings: number; degree: number } {
  const squarings = norm > 1 ? Math.ceil(Math.log2(norm)) : 0;
  const x = norm / 2 ** squarings;
  // Remainder of the truncated series ≤ x^(m+1)/(m+1)! · e^x; squaring multiplies it by 2^s.
  let m = 1, term = x;
  while (m < 30 && (term * x) / (m + 1) * Math.exp(x) * 2 ** squarings > 2 ** -26) {
    term = (term * x) / (m + 1);
    m++;
  }
  return { squarings, degree: x === 0 ? 0 : m };
}

/** exp(A) for square A [n,n], with the plan for its 1-norm (read from the device once). */
export function expm(a: Tensor2D, norm?: number): Tensor2D {
  const n1 = norm ?? tf.max(tf.sum(tf.abs(a), 0)).dataSync()[0]!;
  const { squarings, degree } = expmPlan(n1);
  return tf.tidy(() => {
    const n = a.shape[0];
    const eye = tf.eye(n) as Tensor2D;
    const x = squarings > 0 ? (tf.mul(a, 1 / 2 ** squarings) as Tensor2D) : a;
    // Work with F = exp(X) − I, whose entries are small, so float32 rounding stays relative to
    // ‖F‖ rather than to 1: Horner F = X(I + X/2(I + X/3(… (I + X/m)))), then each squaring
    // (I + F)² = I + (2F + F·F).
    if (degree === 0) return eye;
    let p = eye;
    for (let k = degree; k >= 2; k--) p = tf.add(eye, tf.mul(tf.matMul(x, p), 1 / k)) as Tensor2D;
    let f = tf.matMul(x, p);
    for (let i = 0; i < squarings; i++) f = tf.add(tf.mul(f, 2), tf.matMul(f, f)) as Tensor2D;
    return tf.add(eye, f) as Tensor2D;
  });
}

/**
 * exp(A)·W without forming exp(A) where no squaring is needed (the optimizer's small steps):
 * Horner on W itself, Y ← W + A·Y/k for k = m … 1, is m products where building exp(A) and
 * then multiplying by W is m + 1 (a sixth of the orthogonal step at H = 256). Larger ‖A‖
 * go through `expm`.
 */
export function expmTimes(a: Tensor2D, w: Tensor2D, norm?: number): Tensor2D {
  const n1 = norm ?? tf.max(tf.sum(tf.abs(a), 0)).dataSync()[0]!;
  const { squarings, degree } = expmPlan(n1);
  if (squarings > 0) return tf.tidy(() => tf.matMul(expm(a, n1), w));
  return tf.tidy(() => {
    let y = w;
    for (let k = degree; k >= 1; k--) y = tf.add(w, tf.mul(tf.matMul(a, y), 1 / k)) as Tensor2D;
    return y === w ? tf.clone(w) : y;
  });
}

/** Squarings the device-planned exponential allows: ‖A‖₁ up to 2⁴ keeps its error bound. */
export const DEVICE_SQUARINGS = 4;

/**
 * exp(A)·W with the scaling decided on the device, so nothing is read back: s =
 * clamp(⌈log₂‖A‖₁⌉, 0, S) and X = A/2^s are computed there, the Taylor degree is the one
 * `expmPlan` gives for ‖X‖₁ = 1 after S squarings, and all S squarings run, the ones past s
 * multiplied by a zero mask. That is more products than `expmTimes` (whose plan reads ‖A‖₁
 * first), the price of not waiting for the GPU at every step; it is used where a read is a
 * round trip (webgpu). Past ‖A‖₁ = 2^S the error bound no longer holds.
 *
 * A and W are [n,n], or stacks [k,n,n] of k matrices each with its own scaling: one batched
 * product per term then serves every orthogonal matrix of a model (a dispatch each on a GPU).
 */
export function expmTimesOnDevice<T extends Tensor2D | Tensor3D>(
  a: T,
  w: T,
  maxSquarings = DEVICE_SQUARINGS,
): T {
  const { degree } = expmPlan(2 ** maxSquarings);
  return tf.tidy(() => {
    const n = a.shape[1]!;
    const eye = tf.eye(n);
    // 1-norm of each matrix (the largest column sum), kept as [..,1,1] to broadcast.
    const norm = tf.max(tf.sum(tf.abs(a), -2, true), -1, true);
    // ⌈log₂ 0⌉ is −∞, which the clamp turns into no squaring.
    const s = tf.clipByValue(tf.ceil(tf.div(tf.log(norm), Math.LN2)), 0, maxSquarings);
    const x = tf.mul(a, tf.pow(tf.scalar(2), tf.neg(s)));
    // F = exp(X) − I by Horner, as in `expm`; the innermost term I + X/m needs no product.
    if (degree === 0) return tf.clone(w) as T;
    let p = tf.add(eye, tf.mul(x, 1 / degree));
    for (let k = degree - 1; k >= 2; k--) p = tf.add(eye, tf.mul(tf.matMul(x, p), 1 / k));
    let f = degree === 1 ? x : tf.matMul(x, p);
    for (let i = 0; i < maxSquarings; i++) {
      const on = tf.step(tf.sub(s, i + 0.5)); // 1 while i < s
      f = tf.add(f, tf.mul(on, tf.add(f, tf.matMul(f, f)))); // (I+F)² = I + 2F + F²
    }
    return tf.add(w, tf.matMul(f, w)) as T; // (I + F)·W
  });
}
