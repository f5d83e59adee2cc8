/**
 * The unitary counterpart of orthogonal.ts, for the complex cells' W = X + iY stored [X | Y]
 * [H, 2H] (shared/cells/complex.ts). The Lie-group step is the complex one,
 *
 *   W ← exp(−η·A)·W,  A = D·Wᴴ − W·Dᴴ  (skew-Hermitian),  D = D_X + i·D_Y,
 *
 * where D_X, D_Y are the loss's gradients (or Adam's directions) for X and Y. Through the real
 * block φ (φ(Wᴴ) = φ(W)ᵀ, exp∘φ = φ∘exp) it is exactly the orthogonal step of orthogonal.ts
 * on φ(W) [2H, 2H] with direction φ(D), so the optimizer reuses skewGenerator and the real
 * exponential of expm.ts on the blocks and reads [X | Y] back with fromComplexBlock.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor2D, Variable } from "../shared/tf.ts";
import { complexBlock, fromComplexBlock } from "../shared/cells/complex.ts";
import { type Reorth, reorthogonalize } from "./orthogonal.ts";

/**
 * max |WᴴW − I| of each complex matrix ([X | Y] [H, 2H]), the modulus of each complex entry:
 * the drift from unitarity, read from the device at once.
 */
export async function unitarityDrifts(ws: Tensor2D[]): Promise<number[]> {
  if (ws.length === 0) return [];
  const drifts = tf.tidy(() =>
    tf.stack(ws.map((w) => {
      const [x, y] = tf.split(w, 2, 1) as [Tensor2D, Tensor2D]; // [H,H] each
      const xT = tf.transpose(x), yT = tf.transpose(y);
      // WᴴW = (Xᵀ − iYᵀ)(X + iY) = (XᵀX + YᵀY) + i(XᵀY − YᵀX)
      const re = tf.sub(tf.add(tf.matMul(xT, x), tf.matMul(yT, y)), tf.eye(x.shape[0]));
      const im = tf.sub(tf.matMul(xT, y), tf.matMul(yT, x));
      return tf.max(tf.sqrt(tf.add(tf.square(re), tf.square(im))));
    }))
  );
  const values = await drifts.data();
  drifts.dispose();
  return Array.from(values);
}

/** max |WᴴW − I| of one complex matrix. */
export async function unitarityDrift(w: Tensor2D): Promise<number> {
  return (await unitarityDrifts([w]))[0]!;
}

/**
 * Pull W back onto the unitary group: Newton–Schulz on its block φ(W), whose iterates are
 * polynomials in φ(W) and φ(W)ᵀ and so stay blocks of complex matrices.
 */
export function reunitarize(w: Tensor2D, iterations = 3): Tensor2D {
  return tf.tidy(() => fromComplexBlock(reorthogonalize(complexBlock(w), iterations)));
}

/**
 * max|WᴴW − I| over the named complex matrices; each one past `tol` is re-unitarised in place
 * and reported with its drift before and after (the same record as checkAndRepair's).
 */
export async function checkAndRepairUnitary(
  vars: Record<string, Variable>,
  names: Iterable<string>,
  tol: number,
): Promise<{ max: number; fixes: Reorth[] }> {
  const list = [...names];
  const drifts = await unitarityDrifts(list.map((n) => vars[n] as Tensor2D));
  const fixes: Reorth[] = [];
  for (const [i, name] of list.entries()) {
    const d = drifts[i]!;
    if (d > tol) {
      const v = vars[name]!;
      const fixed = reunitarize(v as Tensor2D);
      v.assign(fixed);
      fixed.dispose();
      fixes.push({ param: name, before: d, after: await unitarityDrift(v as Tensor2D) });
    }
  }
  return { max: Math.max(0, ...drifts), fixes };
}
