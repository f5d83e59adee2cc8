/**
 * The Lie-group step that keeps a recurrent matrix orthogonal (Wisdom et al. 2016; the poster
 * behind rotor):  W ← exp(−η·A)·W,  A = D·Wᵀ − W·Dᵀ.
 * A is skew-symmetric, so exp(−ηA) is a rotation and W stays on the orthogonal group.
 * D is the loss gradient G (Riemannian SGD) or Adam's normalised direction m̂/(√v̂+ε) of G.
 *
 * Descent: the step's first-order change of the loss is −η·½‖S − Sᵀ‖² ≤ 0 with S = WᵀD.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor2D, Variable } from "../shared/tf.ts";
import { expmTimes } from "./expm.ts";

/** A = D·Wᵀ − W·Dᵀ (skew-symmetric), with transposes made explicit for wasm. */
export function skewGenerator(w: Tensor2D, d: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const dwT = tf.matMul(d, tf.transpose(w)); // [H,H]·[H,H]
    return tf.sub(dwT, tf.transpose(dwT)) as Tensor2D; // (D·Wᵀ)ᵀ = W·Dᵀ
  });
}

/** W ← exp(−η·A)·W for direction D. Returns the new matrix (W itself is not modified). */
export function rotate(w: Tensor2D, d: Tensor2D, lr: number): Tensor2D {
  return tf.tidy(() => {
    const a = tf.mul(skewGenerator(w, d), -lr) as Tensor2D;
    return expmTimes(a, w);
  });
}

/** max |WᵀW − I| of each matrix: the drift from orthogonality, read from the device at once. */
export async function orthogonalityDrifts(ws: Tensor2D[]): Promise<number[]> {
  if (ws.length === 0) return [];
  const drifts = tf.tidy(() =>
    tf.stack(
      ws.map((w) => tf.max(tf.abs(tf.sub(tf.matMul(tf.transpose(w), w), tf.eye(w.shape[0]))))),
    )
  );
  const values = await drifts.data();
  drifts.dispose();
  return Array.from(values);
}

/** max |WᵀW − I|: the drift from orthogonality. */
export async function orthogonalityDrift(w: Tensor2D): Promise<number> {
  return (await orthogonalityDrifts([w]))[0]!;
}

/**
 * Pull W back onto the orthogonal group by Newton–Schulz polar iterations
 * W ← ½·W·(3I − WᵀW), which converge quadratically from a nearly orthogonal W.
 */
export function reorthogonalize(w: Tensor2D, iterations = 3): Tensor2D {
  return tf.tidy(() => {
    let x = w;
    const eye3 = tf.mul(tf.eye(w.shape[0]), 3);
    for (let i = 0; i < iterations; i++) {
      x = tf.mul(tf.matMul(x, tf.sub(eye3, tf.matMul(tf.transpose(x), x))), 0.5) as Tensor2D;
    }
    return x;
  });
}

export interface Reorth {
  param: string;
  before: number;
  after: number;
}

/**
 * max|WᵀW − I| over the named matrices; each one past `tol` is re-orthogonalised in place
 * (rounding slowly walks W off the group) and reported with its drift before and after.
 */
export async function checkAndRepair(
  vars: Record<string, Variable>,
  names: Iterable<string>,
  tol: number,
): Promise<{ max: number; fixes: Reorth[] }> {
  const list = [...names];
  const drifts = await orthogonalityDrifts(list.map((n) => vars[n] as Tensor2D)); // one read
  const fixes: Reorth[] = [];
  for (const [i, name] of list.entries()) {
    const d = drifts[i]!;
    if (d > tol) {
      const v = vars[name]!;
      const fixed = reorthogonalize(v as Tensor2D);
      v.assign(fixed);
      fixed.dispose();
      fixes.push({ param: name, before: d, after: await orthogonalityDrift(v as Tensor2D) });
    }
  }
  return { max: Math.max(0, ...drifts), fixes };
}
