/**
 * The optimizer's elementwise work on webgpu as a few WGSL dispatches: the global gradient
 * norm as one reduction per 6 gradients (shared/webgpu_reduce.ts) where tfjs dispatches a
 * square, a sum and an add for each; and each parameter's clipped Adam step as three (m, v,
 * and the update), where tfjs dispatches about fourteen small ops (it has no fused optimizer
 * kernel on any backend). The composed ops of optimizer.ts stay the reference
 * (adam_webgpu_test.ts) and the path of every other backend.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor } from "../shared/tf.ts";
import type { KernelArgs, TensorInfo } from "../shared/wasm_kernels.ts";
import { dispatch, floats, type Program, touch } from "../shared/webgpu_program.ts";
import { sumRanges } from "../shared/webgpu_reduce.ts";

export const SUM_SQUARES = "RotorSumSquares";
export const ADAM = "RotorAdam";
export const SGD = "RotorSgd";
export const ADAM_MOMENTS = "RotorAdamMoments";

function sumSquaresKernel({ inputs, backend }: KernelArgs): TensorInfo {
  const ranges = Object.values(inputs).map((x) => ({
    x,
    offset: 0,
    length: tf.util.sizeFromShape(x.shape),
  }));
  return sumRanges(backend, ranges, { square: true, root: true });
}

/** The clip factor min(1, clip/‖g‖) from the norm's buffer, in WGSL (clip 0: none). */
const CLIP = `let nrm = norm[0];
  let s = select(1.0, uniforms.clip / nrm, uniforms.clip > 0.0 && nrm > uniforms.clip);`;

/**
 * m' = β·m + (1−β)·(s·g), or with (s·g)² for v: `square`. 1 − β comes in as a uniform, as
 * tfjs's ops take it: in float32, 1 − f32(0.999) is 1.3e-5 off f32(0.001).
 */
function momentProgram(n: number, square: boolean): Program {
  const names = ["g", "m", "norm"];
  return {
    key: `moment_${n}_${square}`,
    names,
    threads: n,
    uniforms: "beta : f32, mix : f32, clip : f32,",
    code: `fn main(index : i32) {
      ${touch(names)}
      if (index >= ${n}) { return; }
      ${CLIP}
      let c = g[index] * s;
      result[index] = m[index] * uniforms.beta + ${square ? "c * c" : "c"} * uniforms.mix;
    }`,
  };
}

/** The Adam direction m̂/(√v̂ + ε) of element e, from the new moments: for WGSL. */
export const ADAM_DIRECTION = `fn adamDirection(mv : f32, vv : f32) -> f32 {
  return (mv / uniforms.bc1) / (sqrt(vv / uniforms.bc2) + uniforms.eps);
}`;

function adamUpdateProgram(n: number): Program {
  const names = ["w", "m", "v"];
  return {
    key: `adamupdate_${n}`,
    names,
    threads: n,
    uniforms: "lr : f32, bc1 : f32, bc2 : f32, eps : f32,",
    code: `${ADAM_DIRECTION}
    fn main(index : i32) {
      ${touch(names)}
      if (index >= ${n}) { return; }
      result[index] = w[index] - adamDirection(m[index], v[index]) * uniforms.lr;
    }`,
  };
}

function sgdProgram(n: number): Program {
  const names = ["w", "g", "norm"];
  return {
    key: `sgd_${n}`,
    names,
    threads: n,
    uniforms: "clip : f32, lr : f32,",
    code: `fn main(index : i32) {
      ${touch(names)}
      if (index >= ${n}) { return; }
      ${CLIP}
      result[index] = w[index] - (g[index] * s) * uniforms.lr;
    }`,
  };
}

export interface AdamAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  clip: number;
  lr: number;
  /** Bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ of this step. */
  bc1: number;
  bc2: number;
}

/** The new moments of a gradient: two dispatches. */
export function momentsWebGpu(
  backend: unknown,
  g: TensorInfo,
  m: TensorInfo,
  v: TensorInfo,
  norm: TensorInfo,
  a: Pick<AdamAttrs, "beta1" | "beta2" | "clip">,
): { m: TensorInfo; v: TensorInfo } {
  const n = tf.util.sizeFromShape(g.shape);
  const shaped = (t: TensorInfo) => ({ ...t, shape: g.shape });
  const u = (beta: number) => floats(beta, 1 - beta, a.clip);
  return {
    m: shaped(dispatch(backend, momentProgram(n, false), [g, m, norm], n, u(a.beta1))),
    v: shaped(dispatch(backend, momentProgram(n, true), [g, v, norm], n, u(a.beta2))),
  };
}

function adamKernel({ inputs, attrs, backend }: KernelArgs): TensorInfo[] {
  const { w, g, m, v, norm } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as AdamAttrs;
  const next = momentsWebGpu(backend, g!, m!, v!, norm!, a);
  const n = tf.util.sizeFromShape(w!.shape);
  const u = floats(a.lr, a.bc1, a.bc2, a.eps);
  const out = dispatch(backend, adamUpdateProgram(n), [w!, next.m, next.v], n, u);
  return [{ ...out, shape: w!.shape }, next.m, next.v];
}

function adamMomentsKernel({ inputs, attrs, backend }: KernelArgs): TensorInfo[] {
  const { g, m, v, norm } = inputs as Record<string, TensorInfo>;
  const next = momentsWebGpu(backend, g!, m!, v!, norm!, attrs as unknown as AdamAttrs);
  return [next.m, next.v];
}

function sgdKernel({ inputs, attrs, backend }: KernelArgs): TensorInfo {
  const { w, g, norm } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as Pick<AdamAttrs, "clip" | "lr">;
  const n = tf.util.sizeFromShape(w!.shape);
  const out = dispatch(backend, sgdProgram(n), [w!, g!, norm!], n, floats(a.clip, a.lr));
  return { ...out, shape: w!.shape };
}

let installed = false;

/** Register the kernels on the webgpu backend (once; a name only, nothing loads). */
export function installAdamWebGpu(): void {
  if (installed) return;
  installed = true;
  const kernels = {
    [SUM_SQUARES]: sumSquaresKernel,
    [ADAM]: adamKernel,
    [ADAM_MOMENTS]: adamMomentsKernel,
    [SGD]: sgdKernel,
  };
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
    tf.registerKernel({
      kernelName,
      backendName: "webgpu",
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}

const run = (name: string, inputs: Record<string, Tensor>, attrs: object = {}) =>
  tf.engine().runKernel(
    name,
    inputs as unknown as tf.NamedTensorMap,
    attrs as unknown as tf.NamedAttrMap,
  );

/** ‖g‖ over all `grads` as a scalar, in ⌈n/6⌉ dispatches. */
export function globalNormWebGpu(grads: Tensor[]): Tensor {
  installAdamWebGpu();
  const inputs = Object.fromEntries(grads.map((g, i) => [`x${i}`, g]));
  return tf.reshape(run(SUM_SQUARES, inputs) as Tensor, []);
}

/**
 * One clipped Adam step of a parameter: w − lr·m̂/(√v̂ + ε) with the new moments, the
 * gradient scaled by min(1, clip/‖g‖) (`norm` is ‖g‖ over all gradients). Three dispatches.
 */
export function adamWebGpu(
  w: Tensor,
  g: Tensor,
  m: Tensor,
  v: Tensor,
  norm: Tensor,
  a: AdamAttrs,
): { w: Tensor; m: Tensor; v: Tensor } {
  installAdamWebGpu();
  const [w2, m2, v2] = run(ADAM, { w, g, m, v, norm }, a) as Tensor[];
  return { w: w2!, m: m2!, v: v2! };
}

/** Adam's new moments of a clipped gradient (two dispatches), for the orthogonal step. */
export function adamMomentsWebGpu(
  g: Tensor,
  m: Tensor,
  v: Tensor,
  norm: Tensor,
  a: Pick<AdamAttrs, "beta1" | "beta2" | "clip">,
): { m: Tensor; v: Tensor } {
  installAdamWebGpu();
  const [m2, v2] = run(ADAM_MOMENTS, { g, m, v, norm }, a) as Tensor[];
  return { m: m2!, v: v2! };
}

/** One clipped SGD step of a parameter: w − lr·s·g. One dispatch. */
export function sgdWebGpu(w: Tensor, g: Tensor, norm: Tensor, clip: number, lr: number): Tensor {
  installAdamWebGpu();
  return run(SGD, { w, g, norm }, { clip, lr }) as Tensor;
}
