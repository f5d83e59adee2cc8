/**
 * A sum over ranges of several buffers as one WGSL dispatch per 6 buffers (8 storage buffers
 * a shader on the device tfjs creates, less the output and the running partial): the global
 * gradient norm, a blocked loss's total. tfjs would dispatch a sum per tensor and an add per
 * pair. One workgroup strides over every range, then sums in workgroup memory: a single
 * workgroup is the price of a single dispatch, and these sums are small beside a step.
 */
import type { TensorInfo } from "./wasm_kernels.ts";
import { dispatch, lit, type Program, touch } from "./webgpu_program.ts";

/** Buffers one dispatch reads besides its running partial. */
export const SUM_INPUTS = 6;
const THREADS = 256;

export interface Range {
  x: TensorInfo;
  /** First element and count. */
  offset: number;
  length: number;
}

export interface SumOptions {
  /** Sum squares. */
  square?: boolean;
  /** Finish with √ of the total (after `scale`). */
  root?: boolean;
  /** Multiply the total by this. */
  scale?: number;
}

function sumProgram(ranges: Range[], prev: boolean, last: boolean, o: SumOptions): Program {
  const names = [...ranges.map((_, i) => `x${i}`), ...(prev ? ["prev"] : [])];
  const loops = ranges.map((r, i) =>
    `for (var e = i; e < ${r.length}; e += ${THREADS}) {
      let g = x${i}[${r.offset} + e]; s += ${o.square ? "g * g" : "g"};
    }`
  ).join("\n");
  let total = `partial[0]${prev ? " + prev[0]" : ""}`;
  if (last && o.scale !== undefined) total = `(${total}) * ${lit(o.scale)}`;
  if (last && o.root) total = `sqrt(${total})`;
  return {
    key: `sum_${ranges.map((r) => `${r.offset}+${r.length}`).join("_")}_${prev}_${last}_` +
      `${o.square}_${o.root}_${o.scale}`,
    names,
    threads: THREADS,
    workgroup: THREADS,
    code: `var<workgroup> partial : array<f32, ${THREADS}>;
    fn main(index : i32) {
      ${touch(names)}
      let i = i32(localIndex);
      var s = 0.0;
      ${loops}
      partial[i] = s;
      workgroupBarrier();
      for (var w = ${THREADS / 2}; w > 0; w = w / 2) {
        if (i < w) { partial[i] += partial[i + w]; }
        workgroupBarrier();
      }
      if (i == 0) { result[0] = ${total}; }
    }`,
  };
}

/** Σ over `ranges` (of squares, scaled, rooted: `o`) as a new [1] buffer. */
export function sumRanges(backend: unknown, ranges: Range[], o: SumOptions = {}): TensorInfo {
  if (ranges.length === 0) throw new Error("Nothing to sum");
  const gpu = backend as { disposeData(id: object): boolean };
  let partial: TensorInfo | undefined;
  for (let i = 0; i < ranges.length; i += SUM_INPUTS) {
    const group = ranges.slice(i, i + SUM_INPUTS);
    const p = sumProgram(group, partial !== undefined, i + SUM_INPUTS >= ranges.length, o);
    const ins = group.map((r) => r.x);
    const out = dispatch(backend, p, partial ? [...ins, partial] : ins, 1);
    if (partial) gpu.disposeData(partial.dataId);
    partial = out;
  }
  return partial!;
}
