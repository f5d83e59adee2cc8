/**
 * Differentiable ops with hand-written gradients, for the wasm backend's sake (and `affine`,
 * which on webgpu keeps tfjs's):
 * - tfjs's MatMul gradient multiplies with transposeA/transposeB, which runs ~10× slower
 *   on wasm than a plain product of an explicitly transposed operand;
 * - Gather's gradient needs UnsortedSegmentSum, which wasm lacks (ScatterNd sums duplicates);
 * - cross-entropy picks the target logit and fuses softmax into one gradient.
 */
import { tf } from "./tf.ts";
import type { Tensor, Tensor1D, Tensor2D } from "./tf.ts";

type Save = (tensors: Tensor[]) => void;
type Grad = (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[];

/** tf.customGrad with its parameter types spelled out (its own typing takes a rest array). */
function custom<A extends Tensor[]>(
  f: (...args: [...A, Save]) => { value: Tensor; gradFunc: Grad },
): (...inputs: A) => Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    ...inputs: A
  ) => Tensor;
}

/**
 * a·b [N,K]·[K,M] → [N,M] whose gradient transposes explicitly. Pass `bT` when the caller
 * already holds bᵀ (a recurrent matrix used at every time step), to skip re-transposing it.
 */
export function matMul(a: Tensor2D, b: Tensor2D, bT?: Tensor2D): Tensor2D {
  const f = custom<[Tensor, Tensor]>((x, y, save) => {
    // Tensors the gradient reads must go through save(): the forward pass's scope
    // disposes everything else before the backward pass runs.
    save(bT ? [x, bT] : [x, y]);
    return {
      value: tf.matMul(x as Tensor2D, y as Tensor2D),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sy] = saved as [Tensor2D, Tensor2D];
        const yT = bT ? sy : tf.transpose(sy);
        return [
          tf.matMul(dy as Tensor2D, yT), // [N,M]·[M,K] → [N,K]
          tf.matMul(tf.transpose(sx), dy as Tensor2D), // [K,N]·[N,M] → [K,M]
        ];
      },
    };
  });
  return f(a, b) as Tensor2D;
}

/**
 * x·W + b [N,K]·[K,M] + [M]. On webgpu one fused product, whose gradient (tfjs's) multiplies
 * with transposeA/transposeB flags, which its shaders read at no cost: two dispatches fewer
 * forward and back than `matMul` and an add. Elsewhere `matMul` and an add.
 */
export function affine(x: Tensor2D, w: Tensor2D, b: Tensor1D): Tensor2D {
  if (tf.getBackend() === "webgpu") return tf.fused.matMul({ a: x, b: w, bias: b }) as Tensor2D;
  return tf.add(matMul(x, w), b) as Tensor2D;
}

/** Rows of `table` [V,D] at `ids` [N] → [N,D]; the gradient scatters (and sums) rows back. */
export function embed(table: Tensor2D, ids: Tensor1D): Tensor2D {
  const [v, d] = table.shape;
  const f = custom<[Tensor]>((t, save) => {
    save([ids]);
    return {
      value: tf.gather(t, ids),
      gradFunc: (
        dy: Tensor,
        saved: Tensor[],
      ) => [tf.scatterND(tf.reshape(saved[0]!, [-1, 1]), dy, [v, d])],
    };
  });
  return f(table) as Tensor2D;
}

/**
 * Mean over rows of −log softmax(logits)[target]: logits [N,V], targets [N] int32 → scalar.
 * Gradient: (softmax(logits) − onehot(targets)) / N.
 */
export function softmaxCrossEntropy(logits: Tensor2D, targets: Tensor1D): Tensor {
  const [n, v] = logits.shape;
  const f = custom<[Tensor]>((z, save) => {
    const lse = tf.logSumExp(z, 1, true); // [N,1]
    const onehot = tf.oneHot(targets, v); // [N,V]
    const picked = tf.sum(tf.mul(z, onehot), 1, true); // [N,1]
    save([z, lse, onehot]);
    return {
      value: tf.mean(tf.sub(lse, picked)),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sz, slse, soh] = saved as [Tensor2D, Tensor2D, Tensor2D];
        const p = tf.exp(tf.sub(sz, slse));
        return [tf.mul(tf.sub(p, soh), tf.div(dy, n))];
      },
    };
  });
  return f(logits);
}

/** logits[i, targets[i]] of logits [N,V], picked from the flat [N·V] view (gather has no
 * gradient on wasm, but none is needed here; it avoids a [N,V] one-hot). */
function pickTargets(values: Tensor2D, targets: Tensor1D): Tensor1D {
  const [n, v] = values.shape;
  const flat = tf.add(
    tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(v, "int32")),
    tf.cast(targets, "int32"),
  );
  return tf.gather(tf.reshape(values, [-1]), flat) as Tensor1D;
}

/**
 * Per-row −log softmax(logits)[target]: logits [N,V], targets [N] → [N] (no gradient), through
 * the backend's softmax kernel: on wasm XNNPACK's vectorised softmax, one pass where max, sub,
 * exp, sum and log as separate ops make five, and closer to float64. A target whose probability underflows float32
 * (below ~1e-45) gives +∞; `tokenNllExact` has no such limit.
 */
export function tokenNll(logits: Tensor2D, targets: Tensor1D): Tensor1D {
  return tf.tidy(() => tf.neg(tf.log(pickTargets(tf.softmax(logits) as Tensor2D, targets))));
}

/** Per-row −log softmax(logits)[target] as log Σ exp(logits) − logit: finite for any logits. */
export function tokenNllExact(logits: Tensor2D, targets: Tensor1D): Tensor1D {
  return tf.tidy(() => tf.sub(tf.logSumExp(logits, 1), pickTargets(logits, targets)) as Tensor1D);
}
