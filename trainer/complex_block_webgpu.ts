/**
 * The real block of a complex matrix and back, on webgpu, one dispatch each: the unitary step
 * (optimizer_webgpu.ts) runs the orthogonal step's kernel on blocks, and built from tfjs ops
 * (splits, a negation, concatenations: shared/cells/complex.ts) each block took ~5 dispatches,
 * ~20 a unitary matrix per training step.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import type { KernelArgs, TensorInfo } from "../shared/wasm_kernels.ts";
import { dispatch, lit, touch } from "../shared/webgpu_program.ts";

const BLOCK = "RotorComplexBlock";
const FROM_BLOCK = "RotorFromComplexBlock";

/** [X | Y] [K, 2K] → [[X, Y], [s·Y, X]] [2K, 2K]; s = −1 is φ, s = 1 is |φ| (for Adam's v). */
function blockKernel({ inputs, attrs, backend }: KernelArgs): TensorInfo {
  const { x } = inputs as Record<string, TensorInfo>;
  const k = x!.shape[0]!, n = 2 * k, sign = attrs!.sign as number;
  const out = dispatch(
    backend,
    {
      key: `cblock_${k}_${sign}`,
      names: ["x"],
      threads: n * n,
      code: `fn main(index : i32) {
      ${touch(["x"])}
      if (index >= ${n * n}) { return; }
      let i = index / ${n};
      let j = index - i * ${n};
      if (i < ${k}) { result[index] = x[index]; return; }
      let r = (i - ${k}) * ${n};
      if (j < ${k}) { result[index] = ${lit(sign)} * x[r + j + ${k}]; }
      else { result[index] = x[r + j - ${k}]; }
    }`,
    },
    [x!],
    n * n,
  );
  return { ...out, shape: [n, n] };
}

/** M [2K, 2K] → [X | Y] [K, 2K], the mean of the block's two copies of each part. */
function fromBlockKernel({ inputs, backend }: KernelArgs): TensorInfo {
  const { m } = inputs as Record<string, TensorInfo>;
  const n = m!.shape[0]!, k = n / 2;
  const out = dispatch(
    backend,
    {
      key: `cfromblock_${k}`,
      names: ["m"],
      threads: k * n,
      code: `fn main(index : i32) {
      ${touch(["m"])}
      if (index >= ${k * n}) { return; }
      let i = index / ${n};
      let j = index - i * ${n};
      let low = (i + ${k}) * ${n};
      if (j < ${k}) { result[index] = 0.5 * (m[index] + m[low + j + ${k}]); }
      else { result[index] = 0.5 * (m[index] - m[low + j - ${k}]); }
    }`,
    },
    [m!],
    k * n,
  );
  return { ...out, shape: [k, n] };
}

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  for (const [kernelName, f] of [[BLOCK, blockKernel], [FROM_BLOCK, fromBlockKernel]] as const) {
    tf.registerKernel({
      kernelName,
      backendName: "webgpu",
      kernelFunc: f as unknown as tf.KernelFunc,
    });
  }
}

/** φ(W) (sign −1) or |φ|(W) (sign 1) of [X | Y] [K, 2K], on webgpu. */
export function complexBlockWebGpu(x: Tensor2D, sign: -1 | 1 = -1): Tensor2D {
  install();
  return tf.engine().runKernel(BLOCK, { x }, { sign }) as Tensor2D;
}

/** [X | Y] [K, 2K] from a block that is φ(W) up to rounding, on webgpu. */
export function fromComplexBlockWebGpu(m: Tensor2D): Tensor2D {
  install();
  return tf.engine().runKernel(FROM_BLOCK, { m }, {}) as Tensor2D;
}
