/**
 * The output layer and the loss in blocks of rows: logits = h·W + b → log-softmax →
 * cross-entropy, and its gradient, one block at a time, so no [N, V] logits or softmax is
 * held beyond one block (N = B·T rows; at B = 64, T = 150, V = 10,000 the whole softmax is
 * 3.8 GB of float32, and the plain path holds three such tensors until the backward pass).
 *
 * The gradient is computed in the forward pass, block by block, as Liger Kernel's fused
 * linear cross-entropy does: ∂L/∂z = (softmax(z) − onehot(y)) / N is used at once for
 * ∂L/∂h = ∂L/∂z·Wᵀ, ∂L/∂W += h_blockᵀ·∂L/∂z and ∂L/∂b += Σ_rows ∂L/∂z, and the backward pass
 * only scales those by the incoming gradient. That costs no recomputation of the logits.
 * tfjs has no such op: its softmaxCrossEntropy keeps the whole [N, V] softmax.
 */
import { tf } from "./tf.ts";
import type { Tensor, Tensor1D, Tensor2D } from "./tf.ts";

/** Default elements of one block's logits (16 MB of float32): rows = this / V. */
export const BLOCK_ELEMENTS = 1 << 22;

/** Rows per block for a vocabulary of `vocab` under an element budget (at least one row). */
export function blockRows(vocab: number, elements = BLOCK_ELEMENTS): number {
  return Math.max(1, Math.floor(elements / vocab));
}

interface BlockResult {
  /** Σ over the rows of −log softmax(z)[y], a scalar. */
  lossSum: Tensor;
  /** Present when gradients were asked for. */
  grads?: { h: Tensor2D; w: Tensor2D; b: Tensor1D };
}

/** Loss (and gradients, scaled by 1/n) of every block, accumulated. */
function blocks(
  h: Tensor2D,
  w: Tensor2D,
  b: Tensor1D,
  targets: Tensor1D,
  rows: number,
  withGrads: boolean,
): BlockResult {
  const [n] = h.shape;
  const v = w.shape[1];
  const wT = withGrads ? tf.transpose(w) : undefined; // [V,H], once for every block
  let lossSum: Tensor = tf.scalar(0);
  const dh: Tensor2D[] = [];
  let dw: Tensor2D | undefined, db: Tensor | undefined;
  for (let start = 0; start < n; start += rows) {
    const r = Math.min(rows, n - start);
    const hb = r === n ? h : tf.slice(h, [start, 0], [r, -1]) as Tensor2D; // [r,H]
    const yb = r === n ? targets : tf.slice(targets, [start], [r]) as Tensor1D; // [r]
    const z = tf.fused.matMul({ a: hb, b: w, bias: b }); // [r,H]·[H,V] + b → [r,V]
    const lse = tf.logSumExp(z, 1, true); // [r,1]
    const onehot = tf.oneHot(yb, v); // [r,V]
    const picked = tf.sum(tf.mul(z, onehot), 1, true); // [r,1]
    lossSum = tf.add(lossSum, tf.sum(tf.sub(lse, picked)));
    if (!withGrads) continue;
    const dz = tf.mul(tf.sub(tf.exp(tf.sub(z, lse)), onehot), 1 / n) as Tensor2D; // [r,V]
    dh.push(tf.matMul(dz, wT!)); // [r,V]·[V,H] → [r,H]
    const dwb = tf.matMul(tf.transpose(hb), dz); // [H,r]·[r,V] → [H,V]
    dw = (dw ? tf.add(dw, dwb) : dwb) as Tensor2D;
    const dbb = tf.sum(dz, 0); // [V]
    db = db ? tf.add(db, dbb) : dbb;
  }
  if (!withGrads) return { lossSum };
  const gh = dh.length === 1 ? dh[0]! : tf.concat(dh, 0) as Tensor2D;
  return { lossSum, grads: { h: gh, w: dw!, b: db as Tensor1D } };
}

/**
 * Mean over rows of −log softmax(h·W + b)[target]: h [N,H], W [H,V], b [V], targets [N]
 * int32 → scalar, with its gradient for h, W and b. The same value and gradients as
 * `softmaxCrossEntropy(h·W + b, targets)` (ops.ts), in blocks of `rows` rows.
 */
export function blockedCrossEntropy(
  h: Tensor2D,
  w: Tensor2D,
  b: Tensor1D,
  targets: Tensor1D,
  rows = blockRows(w.shape[1]),
): Tensor {
  if (!Number.isInteger(rows) || rows < 1) {
    throw new Error(`Block rows must be a positive integer, got "${rows}"`);
  }
  const [n] = h.shape;
  // Outside a gradient tape (scoring) the gradient's products would be wasted work.
  const withGrads = tf.engine().isTapeOn();
  const f = tf.customGrad(
    ((hh: Tensor2D, ww: Tensor2D, bb: Tensor1D, save: (t: Tensor[]) => void) => {
      const r = blocks(hh, ww, bb, targets, rows, withGrads);
      if (r.grads) save([r.grads.h, r.grads.w, r.grads.b]);
      return {
        value: tf.div(r.lossSum, n),
        gradFunc: (dy: Tensor, saved: Tensor[]) => saved.map((g) => tf.mul(g, dy)),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return (f as unknown as (...xs: Tensor[]) => Tensor)(h, w, b);
}
