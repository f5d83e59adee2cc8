/**
 * Hand-written WGSL programs on tfjs's webgpu backend, for kernels that fuse what tfjs
 * dispatches as many small ops (its ops are one shader each; it has no fused optimizer step,
 * matrix exponential or loss block). Like shared/recurrence/webgpu.ts, this imports nothing
 * from @tensorflow/tfjs-backend-webgpu, so it loads where that package never does.
 *
 * A program writes one flat float32 buffer (`result` in its code, which it may also read:
 * storage writes of one dispatch are visible to the next, so a kernel can fill one buffer
 * over several dispatches) and reads its named inputs; every input, and the uniforms, must be
 * touched by the code (see `touch`), or the binding drops out of the pipeline and validation
 * fails.
 */
import type { TensorInfo } from "./wasm_kernels.ts";

/** The part of tfjs-backend-webgpu's WebGPUBackend these programs use. */
export interface WebGpuBackend {
  makeTensorInfo(shape: number[], dtype: "float32"): TensorInfo;
  disposeData(dataId: object): boolean;
  runWebGPUProgram(
    program: object,
    inputs: TensorInfo[],
    dtype: "float32",
    uniforms: { type: "int32" | "float32"; data: number[] }[],
    output: TensorInfo,
  ): TensorInfo;
}

export interface Program {
  /** Everything compiled into `code` (sizes, constants): the pipeline cache's key. */
  key: string;
  /** Input names, in the order of the tensors passed to `dispatch`. */
  names: string[];
  /** WGSL defining `fn main(index : i32)`, index the thread's global number. */
  code: string;
  /** Threads to run: ⌈threads / workgroup⌉ workgroups. */
  threads: number;
  /** Threads per workgroup (default 64). */
  workgroup?: number;
  /** Uniform fields after tfjs's own, as WGSL struct members: "lr : f32, i : i32,". */
  uniforms?: string;
}

/** Phony reads of every input and of tfjs's uniforms (bound to every program), for `code`. */
export const touch = (names: string[]) =>
  [...names.map((n) => `_ = ${n}[0];`), "_ = uniforms.NAN;"].join(" ");

/** A WGSL float literal. */
export const lit = (x: number) => `f32(${x})`;

/**
 * Dispatch `p` once with `inputs`, writing `output` (a flat float32 tensor: a new one of `size`
 * elements, or an existing one the kernel owns, to fill in place). Uniform values follow the
 * order of `p.uniforms`. A fresh program object each time: tfjs rewrites its fields per run.
 */
export function dispatch(
  backend: unknown,
  p: Program,
  inputs: TensorInfo[],
  output: TensorInfo | number,
  uniforms: { type: "int32" | "float32"; data: number[] }[] = [],
): TensorInfo {
  const gpu = backend as WebGpuBackend;
  const out = typeof output === "number" ? gpu.makeTensorInfo([output], "float32") : output;
  const workgroup = p.workgroup ?? 64;
  const program = {
    variableNames: p.names,
    outputShape: out.shape,
    shaderKey: `rotor_${p.key}`,
    dispatchLayout: { x: [0] },
    dispatch: [Math.max(1, Math.ceil(p.threads / workgroup)), 1, 1] as [number, number, number],
    workgroupSize: [workgroup, 1, 1] as [number, number, number],
    uniforms: p.uniforms ?? "",
    getUserCode: () => p.code,
  };
  return gpu.runWebGPUProgram(program, inputs, "float32", uniforms, out);
}

/** Scalars as float32 uniforms, in order. */
export const floats = (...xs: number[]) => xs.map((x) => ({ type: "float32" as const, data: [x] }));
