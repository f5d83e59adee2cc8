/**
 * Complex arithmetic as real blocks, for the complex cells (curnn, cugru).
 *
 * A complex row vector h ∈ ℂ^H is stored as the real row [Re h | Im h] (width 2H), and a
 * complex matrix W = X + iY ∈ ℂ^{H×H} as the real [H, 2H] matrix [X | Y]. Rows multiply from
 * the left as everywhere in rotor, so h·W = (h_re·X − h_im·Y) + i(h_re·Y + h_im·X), which is
 *
 *   [h_re | h_im] · [[X, Y], [−Y, X]]      the real block φ(W), [2H, 2H].
 *
 * φ is a ring homomorphism (φ(AB) = φ(A)φ(B), φ(Wᴴ) = φ(W)ᵀ), so W is unitary exactly when
 * φ(W) is orthogonal and exp(φ(A)) = φ(exp(A)): the real matrix exponential of the block is
 * the block of the complex exponential. Cost: the block holds each of W's 2H² reals twice, and
 * a step's product [B, 2H]·[2H, 2H] is 4H² multiply-adds per row, what a complex product
 * needs anyway (4 real per complex multiply-add); a real orthogonal cell with as many
 * recurrent parameters (H_r = √2·H, H_r² = 2H²) needs 2H², so the complex step costs twice its
 * equal-parameter real counterpart, and the Lie step's exponential of a [2H, 2H] block 2^1.5×.
 */
import { tf } from "../tf.ts";
import type { Tensor1D, Tensor2D } from "../tf.ts";

/** φ(W) [2H, 2H] from the stored [X | Y] [H, 2H]. */
export function complexBlock(u: Tensor2D): Tensor2D {
  const [x, y] = tf.split(u, 2, 1) as [Tensor2D, Tensor2D]; // [H,H] each
  return tf.concat([u, tf.concat([tf.neg(y), x], 1)], 0) as Tensor2D; // [[X, Y], [−Y, X]]
}

/**
 * [X | Y] [H, 2H] back from a block M [2H, 2H] that is φ(W) up to rounding: the mean of its
 * two copies of each part, X = (M₁₁ + M₂₂)/2, Y = (M₁₂ − M₂₁)/2 (the nearest φ(·) to M).
 */
export function fromComplexBlock(m: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const h = m.shape[0] / 2;
    const top = tf.slice(m, [0, 0], [h, 2 * h]); // [X | Y]
    const [my, mx] = tf.split(tf.slice(m, [h, 0], [h, 2 * h]), 2, 1) as [Tensor2D, Tensor2D]; // [−Y | X]
    return tf.mul(tf.add(top, tf.concat([mx, tf.neg(my)], 1)), 0.5) as Tensor2D;
  });
}

/**
 * The columns of φ(W) that give Re(h·W) = h_re·X − h_im·Y: [[X], [−Y]] [2H, H]. A matrix with
 * orthonormal columns when W is unitary; the complex GRU's gates read h through it.
 */
export function realPartColumns(u: Tensor2D): Tensor2D {
  const [x, y] = tf.split(u, 2, 1) as [Tensor2D, Tensor2D];
  return tf.concat([x, tf.neg(y)], 0) as Tensor2D; // [2H,H]
}

/** |z| + ε² under the root keeps the gradient of z/|z| finite at z = 0. */
const EPS = 1e-8;

/** Scale each complex unit of z [B, 2H] by f(|z|)/|z| [B, H]: phase kept, modulus f(|z|). */
function scaleModulus(z: Tensor2D, f: (m: Tensor2D) => Tensor2D): Tensor2D {
  const [a, b] = tf.split(z, 2, 1) as [Tensor2D, Tensor2D]; // Re, Im [B,H]
  const m = tf.sqrt(tf.add(tf.add(tf.square(a), tf.square(b)), EPS)) as Tensor2D; // |z| [B,H]
  const s = tf.div(f(m), m);
  return tf.concat([tf.mul(a, s), tf.mul(b, s)], 1) as Tensor2D;
}

/**
 * Complex modReLU (Arjovsky et al. 2016): z/|z| · max(0, |z| + b) per unit, b [H] real. The
 * phase passes unchanged; only the modulus is thresholded.
 */
export function complexModRelu(z: Tensor2D, bMod: Tensor1D): Tensor2D {
  return scaleModulus(z, (m) => tf.relu(tf.add(m, bMod)) as Tensor2D);
}

/** z/|z| · tanh(|z|) per unit: the GRU's bounded candidate, with the phase kept. */
export function complexTanh(z: Tensor2D): Tensor2D {
  return scaleModulus(z, (m) => tf.tanh(m) as Tensor2D);
}

/** Complex units in a state of real width `hidden` (its real and imaginary halves). */
export function complexUnits(hidden: number): number {
  if (hidden % 2 !== 0) {
    throw new Error(`A complex cell needs an even hidden size (Re | Im halves), got "${hidden}"`);
  }
  return hidden / 2;
}
