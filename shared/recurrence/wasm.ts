/**
 * The recurrence kernels on the wasm backend: each step's recurrent product is the backend's
 * own BatchMatMul kernel (XNNPACK, which packs U once and keeps it for every step), and the
 * gate math between products runs over views of the wasm heap (step_math.ts). The backward
 * kernel walks the steps in reverse with one product per step, dhu_{t+1}·Uᵀ.
 */
import { tf } from "../tf.ts";
import type { KernelArgs, TensorInfo, WasmHeapBackend } from "../wasm_kernels.ts";
import { type At, stepBackward, stepForward } from "./step_math.ts";
import { dimsOf, forwardLayout, gradLayout, type RecurrenceAttrs } from "./spec.ts";

interface WasmBackend extends WasmHeapBackend {
  disposeData(dataId: object): void;
}
type KernelFunc = (args: KernelArgs) => TensorInfo;

/** a·b through the backend's BatchMatMul kernel; the caller disposes the result. */
function product(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  const kernel = tf.getKernel("BatchMatMul", "wasm")?.kernelFunc as unknown as KernelFunc;
  if (!kernel) throw new Error("The wasm backend has no BatchMatMul kernel");
  return kernel({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } });
}

/** Float32 views of the heap; take them again after any allocation (the heap may move). */
const heap = (w: WasmBackend, t: TensorInfo) => w.typedArrayFromHeap(t) as Float32Array;
const at = (a: Float32Array, o: number): At => ({ a, o });

/** xw [T,B,G], U [H,G], s0 [S,B,H], v [H] → y, spec.ts's ForwardLayout: h, (c), h·U. */
export function forwardWasm({ inputs, attrs, backend }: KernelArgs): TensorInfo {
  const { xw, U, s0, v } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as RecurrenceAttrs;
  const d = dimsOf(a.family, xw!.shape);
  const { T, B, H, G } = d, BH = B * H, step = B * G;
  const F = forwardLayout(d);
  const w = backend as WasmBackend;
  const y = w.makeOutput([F.size], "float32");
  const hPrev = w.makeOutput([B, H], "float32"); // the product's left operand, h_{t−1}
  heap(w, hPrev).set(heap(w, s0!).subarray(0, BH));
  for (let t = 0; t < T; t++) {
    const hu = product(w, hPrev, U!); // [B,H]·[H,G]
    const Y = heap(w, y), S0 = heap(w, s0!);
    Y.set(heap(w, hu), F.hu + t * step);
    w.disposeData(hu.dataId);
    stepForward(a, d, {
      xw: at(heap(w, xw!), t * step),
      hu: at(Y, F.hu + t * step),
      hPrev: at(heap(w, hPrev), 0),
      cPrev: t === 0 ? at(S0, BH) : at(Y, F.c + (t - 1) * BH),
      v: heap(w, v!),
      h: at(Y, F.h + t * BH),
      c: at(Y, F.c + t * BH),
    });
    heap(w, hPrev).set(Y.subarray(F.h + t * BH, F.h + (t + 1) * BH));
  }
  w.disposeData(hPrev.dataId);
  return y;
}

/**
 * xw [T,B,G], Uᵀ [G,H], s0 [S,B,H], y and dy (ForwardLayout), v → the flat gradients of
 * spec.ts's GradLayout.
 */
export function backwardWasm({ inputs, attrs, backend }: KernelArgs): TensorInfo {
  const { xw, UT, s0, y, dy, v } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as RecurrenceAttrs;
  const d = dimsOf(a.family, xw!.shape);
  const { T, B, H, G } = d, BH = B * H, step = B * G;
  const F = forwardLayout(d), L = gradLayout(a.family, d);
  const w = backend as WasmBackend;
  const out = w.makeOutput([L.size], "float32");
  const left = w.makeOutput([B, G], "float32"); // the product's left operand, ∂(h_{t−1}·U)
  const dh = new Float32Array(BH), dc = new Float32Array(BH), direct = new Float32Array(BH);
  let carried: Float32Array | undefined; // ∂(h_t·U)·Uᵀ from the step after
  for (let t = T - 1; t >= 0; t--) {
    const DY = heap(w, dy!);
    for (let i = 0; i < BH; i++) {
      dh[i] = DY[F.h + t * BH + i]! + (carried ? carried[i]! + direct[i]! : 0);
      if (d.S === 2) dc[i] = DY[F.c + t * BH + i]! + (carried ? dc[i]! : 0);
    }
    const O = heap(w, out), Y = heap(w, y!), S0 = heap(w, s0!);
    stepBackward(a, d, {
      xw: at(heap(w, xw!), t * step),
      hu: at(Y, F.hu + t * step),
      hPrev: t === 0 ? at(S0, 0) : at(Y, F.h + (t - 1) * BH),
      cPrev: t === 0 ? at(S0, BH) : at(Y, F.c + (t - 1) * BH),
      v: heap(w, v!),
      h: at(Y, F.h + t * BH),
      c: at(Y, F.c + t * BH),
      dh,
      dc,
      direct,
      dxw: at(O, L.dxw + t * step),
      dhu: at(O, L.dhu + t * step),
      dv: at(O, L.dv),
      first: t === T - 1,
    });
    heap(w, left).set(O.subarray(L.dhu + t * step, L.dhu + (t + 1) * step));
    const back = product(w, left, UT!); // [B,G]·[G,H]
    carried = heap(w, back).slice();
    w.disposeData(back.dataId);
  }
  const O = heap(w, out);
  for (let i = 0; i < BH; i++) O[L.dstate + i] = carried![i]! + direct[i]!;
  if (d.S === 2) O.set(dc, L.dstate + BH);
  w.disposeData(left.dataId);
  return out;
}
