/**
 * The recurrence op: a layer's whole unroll over T steps as one registered tfjs kernel with
 * its own gradient (backpropagation through time), where the composed path of
 * shared/cells/unroll.ts runs a dozen small kernels per step forward and more backward.
 * tfjs has no recurrent op of any kind (its layers unroll in JavaScript as unroll.ts does),
 * so it is written here. The input projection (x·W + b for all steps) and the output layer
 * stay large batched products outside the op.
 *
 * Forward: xw [T,B,G], U [H,G], s0 [S,B,H] (h, and c for the LSTM), v [H] (c_n of the GRU,
 * b_mod of modReLU, else zeros) → y, flat (spec.ts's ForwardLayout): every step's h (and c),
 * and every step's product h_{t−1}·U, which the backward pass reads rather than recomputes.
 * Backward: the backward kernel walks the steps in reverse, and ∂U is one [H,T·B]·[T·B,G]
 * product.
 */
import { tf } from "../tf.ts";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "../tf.ts";
import { dimsOf, forwardLayout, gradLayout, type RecurrenceAttrs } from "./spec.ts";

export const RECURRENCE = "RotorRecurrence";
export const RECURRENCE_GRAD = "RotorRecurrenceGrad";

export interface RecurrenceInputs {
  xw: Tensor3D;
  U: Tensor2D;
  s0: Tensor3D;
  v: Tensor1D;
}

/** y (spec.ts's ForwardLayout) from the op's kernel on the active backend. */
export function runRecurrence(inputs: RecurrenceInputs, attrs: RecurrenceAttrs): Tensor {
  return tf.engine().runKernel(
    RECURRENCE,
    inputs as unknown as tf.NamedTensorMap,
    attrs as unknown as tf.NamedAttrMap,
  ) as Tensor;
}

/** The op's gradient: small pure tf code around the backward kernel. */
function gradFunc(dy: Tensor | Tensor[], saved: Tensor[], attrs: tf.NamedAttrMap) {
  const [xw, U, s0, v, y] = saved as [Tensor3D, Tensor2D, Tensor3D, Tensor1D, Tensor1D];
  const a = attrs as unknown as RecurrenceAttrs;
  const d = dimsOf(a.family, xw.shape);
  const { T, B, H, G, S } = d;
  const F = forwardLayout(d), L = gradLayout(a.family, d);
  const g = tf.engine().runKernel(
    RECURRENCE_GRAD,
    { xw, UT: tf.transpose(U), s0, y, dy: dy as Tensor, v },
    attrs,
  ) as Tensor1D;
  const part = (of: Tensor1D, at: number, shape: number[]) =>
    tf.reshape(tf.slice(of, [at], [shape.reduce((p, q) => p * q, 1)]), shape);
  // Each gradient is made only if asked for: the initial state (detached in training) and a
  // constant v need none, and on a GPU every slice is a dispatch.
  const dU = () => {
    // h_{t−1} of every step: the initial h, then h_0 … h_{T−2}.
    const h0 = tf.reshape(tf.slice(s0, [0, 0, 0], [1, B, H]), [B * H]);
    const hs = T > 1 ? [tf.slice(y, [F.h], [(T - 1) * B * H])] : [];
    const hPrev = tf.reshape(tf.concat([h0, ...hs], 0), [T * B, H]) as Tensor2D; // [T·B,H]
    const dhu = part(g, L.dhu, [T * B, G]) as Tensor2D;
    // [H,T·B]·[T·B,G]; webgpu's product reads hPrev transposed in place.
    return tf.getBackend() === "webgpu"
      ? tf.matMul(hPrev, dhu, true, false)
      : tf.matMul(tf.transpose(hPrev), dhu);
  };
  return {
    xw: () => part(g, L.dxw, [T, B, G]),
    U: dU,
    s0: () => part(g, L.dstate, [S, B, H]),
    v: () => tf.sum(part(g, L.dv, [B, H]), 0),
  };
}

let gradientRegistered = false;

/** Register the op's gradient (once; the kernels register per backend). */
export function registerRecurrenceGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: RECURRENCE,
    inputsToSave: ["xw", "U", "s0", "v"],
    outputsToSave: [true],
    gradFunc: gradFunc as unknown as tf.GradFunc,
  });
}
