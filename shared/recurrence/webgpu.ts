/**
 * The recurrence kernels on tfjs's webgpu backend: T dispatches forward and T + 1 backward per
 * layer (wgsl.ts), where the composed path dispatches a few kernels per cell operation per
 * step. This file only builds the programs and dispatches them; it imports nothing from
 * @tensorflow/tfjs-backend-webgpu, so it loads where that package never does (Bun, wasm runs).
 */
import type { KernelArgs, TensorInfo } from "../wasm_kernels.ts";
import { type Dims, dimsOf, forwardLayout, gradLayout, type RecurrenceAttrs } from "./spec.ts";
import { backwardShader, forwardShader, shaderKey } from "./wgsl.ts";

/** The part of tfjs-backend-webgpu's WebGPUBackend these kernels use. */
interface WebGpuBackend {
  makeTensorInfo(shape: number[], dtype: "float32"): TensorInfo;
  runWebGPUProgram(
    program: object,
    inputs: TensorInfo[],
    dtype: "float32",
    uniforms: { type: "int32"; data: number[] }[],
    output: TensorInfo,
  ): TensorInfo;
}

const WORKGROUP = 64;

/**
 * A WebGPUProgram (tfjs-backend-webgpu's interface) with one thread per (b, j). A fresh object
 * per dispatch: the backend appends the input shapes to `shaderKey` on every run.
 */
function program(key: string, names: string[], outputShape: number[], d: Dims, code: string) {
  return {
    variableNames: names,
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil((d.B * d.H) / WORKGROUP), 1, 1] as [number, number, number],
    workgroupSize: [WORKGROUP, 1, 1] as [number, number, number],
    uniforms: "t : i32,",
    getUserCode: () => code,
  };
}

/** xw [T,B,G], U [H,G], s0 [S,B,H], v [H] → y (spec.ts's ForwardLayout). */
export function forwardWebGpu({ inputs, attrs, backend }: KernelArgs): TensorInfo {
  const { xw, U, s0, v } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as RecurrenceAttrs;
  const d = dimsOf(a.family, xw!.shape);
  const gpu = backend as WebGpuBackend;
  const y = gpu.makeTensorInfo([forwardLayout(d).size], "float32");
  const key = shaderKey("fwd", a, d), code = forwardShader(a, d);
  for (let t = 0; t < d.T; t++) {
    const p = program(key, ["xw", "u", "s0", "v"], y.shape, d, code);
    gpu.runWebGPUProgram(p, [xw!, U!, s0!, v!], "float32", [{ type: "int32", data: [t] }], y);
  }
  return y;
}

/** xw [T,B,G], Uᵀ [G,H], s0, y, dy, v → the flat gradients of spec.ts's GradLayout. */
export function backwardWebGpu({ inputs, attrs, backend }: KernelArgs): TensorInfo {
  const { xw, UT, s0, y, dy, v } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as RecurrenceAttrs;
  const d = dimsOf(a.family, xw!.shape);
  const gpu = backend as WebGpuBackend;
  const out = gpu.makeTensorInfo([gradLayout(a.family, d).size], "float32");
  const key = shaderKey("bwd", a, d), code = backwardShader(a, d);
  const names = ["xw", "ut", "s0", "ys", "dys", "v"];
  for (let t = d.T - 1; t >= -1; t--) {
    const p = program(key, names, out.shape, d, code);
    const ins = [xw!, UT!, s0!, y!, dy!, v!];
    gpu.runWebGPUProgram(p, ins, "float32", [{ type: "int32", data: [t] }], out);
  }
  return out;
}
