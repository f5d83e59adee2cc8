/**
 * The loss's elementwise part of one block on the wasm backend, in one kernel: from logits
 * z [r, V] and targets y [r], each row's −log softmax(z)[y] and ∂L/∂z = (softmax(z) − onehot(y))
 * · scale, in three passes over a row (max; exp and its sum; scale) with the sums in float64.
 *
 * As tfjs ops the same math is a log-sum-exp (max, subtract, exp, sum, log), a one-hot
 * [r, V] cast to float, a product and a sum for the picked logit, then another exp, two
 * subtractions and a scaling for the gradient: about ten passes over 7 million logits at B = 20,
 * T = 35, V = 10,000, a quarter of a CPU training step. tfjs has no fused softmax cross-entropy
 * with its gradient and no npm package adds one to its wasm backend, so it is written here.
 */
import { tf } from "./tf.ts";
import type { Tensor1D, Tensor2D } from "./tf.ts";
import type { KernelArgs, TensorInfo, WasmHeapBackend } from "./wasm_kernels.ts";

const SOFTMAX_XENT = "RotorSoftmaxXent";

function softmaxXent({ inputs, attrs, backend }: KernelArgs): TensorInfo[] {
  const { z, y } = inputs as Record<string, TensorInfo>;
  const [r, v] = z!.shape as [number, number];
  const scale = attrs!.scale as number;
  const wasm = backend as WasmHeapBackend;
  // Checked before anything is allocated, so a bad target leaves nothing behind.
  const targets = wasm.typedArrayFromHeap(y!) as Int32Array;
  for (const t of targets) {
    if (!(t >= 0 && t < v)) throw new Error(`Target ${t} is outside the vocabulary of ${v}`);
  }
  const loss = wasm.makeOutput([r], "float32");
  const dz = wasm.makeOutput([r, v], "float32");
  // Views are taken after makeOutput: allocating may grow the heap and detach older views.
  const Z = wasm.typedArrayFromHeap(z!) as Float32Array;
  const Y = wasm.typedArrayFromHeap(y!) as Int32Array;
  const L = wasm.typedArrayFromHeap(loss) as Float32Array;
  const D = wasm.typedArrayFromHeap(dz) as Float32Array;
  for (let i = 0; i < r; i++) {
    const o = i * v, t = Y[i]!;
    let m = -Infinity;
    for (let j = o; j < o + v; j++) if (Z[j]! > m) m = Z[j]!;
    let s = 0;
    for (let j = o; j < o + v; j++) {
      const e = Math.exp(Z[j]! - m);
      D[j] = e;
      s += e;
    }
    L[i] = m + Math.log(s) - Z[o + t]!;
    const k = scale / s;
    for (let j = o; j < o + v; j++) D[j] = D[j]! * k;
    D[o + t] = D[o + t]! - scale;
  }
  return [loss, dz];
}

let installed = false;

/** Register the kernel on the wasm backend (once; after the backend is registered). */
function install(): boolean {
  if (!installed && tf.findBackend("wasm")) {
    installed = true;
    tf.registerKernel({
      kernelName: SOFTMAX_XENT,
      backendName: "wasm",
      kernelFunc: softmaxXent as unknown as tf.KernelFunc,
    });
  }
  return installed;
}

/** Whether the fused kernel runs here: the wasm backend is active. */
export function canFuseLoss(): boolean {
  return tf.engine().backendName === "wasm" && install();
}

/**
 * Each row's −log softmax(z)[y] [r] and (softmax(z) − onehot(y))·scale [r, V], from logits
 * z [r, V] float32 and targets y [r] int32 (see `canFuseLoss`).
 */
export function fusedSoftmaxXent(
  z: Tensor2D,
  y: Tensor1D,
  scale: number,
): { loss: Tensor1D; dz: Tensor2D } {
  const [loss, dz] = tf.engine().runKernel(SOFTMAX_XENT, { z, y }, { scale }) as unknown as [
    Tensor1D,
    Tensor2D,
  ];
  return { loss, dz };
}
