/**
 * The recurrence op's entry point: a layer's unroll from its cell's parameters, the same
 * call as `unroll` of shared/cells/unroll.ts (without its per-step hook), through the one
 * registered kernel of op.ts.
 */
import { tf } from "../tf.ts";
import type { Tensor1D, Tensor2D, Tensor3D } from "../tf.ts";
import type { CellDef, CellOptions, CellParams, CellState, Prepared } from "../cells/types.ts";
import { RECURRENCE, RECURRENCE_GRAD, registerRecurrenceGradient, runRecurrence } from "./op.ts";
import { dimsOf, forwardLayout } from "./spec.ts";
import { backwardWasm, forwardWasm } from "./wasm.ts";
import { backwardWebGpu, forwardWebGpu } from "./webgpu.ts";

const KERNELS = {
  wasm: { [RECURRENCE]: forwardWasm, [RECURRENCE_GRAD]: backwardWasm },
  webgpu: { [RECURRENCE]: forwardWebGpu, [RECURRENCE_GRAD]: backwardWebGpu },
};

let installed = false;

/** Register the op's gradient and its wasm and webgpu kernels (once). */
export function installRecurrence(): void {
  if (installed) return;
  installed = true;
  registerRecurrenceGradient();
  for (const [backendName, kernels] of Object.entries(KERNELS)) {
    for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
    }
  }
}

/** Whether the active backend runs the recurrence op (wasm and webgpu do, once installed). */
export function hasRecurrenceOp(): boolean {
  return tf.getKernel(RECURRENCE, tf.getBackend()) !== undefined;
}

/**
 * Run `cell` over xw [T, B, gates·H] from `state` as one op. Returns every step's h [T, B, H]
 * and the final state; gradients flow to xw, the recurrent matrix (through `prep.U`), the
 * cell's vector parameter (c_n, b_mod) and the initial state.
 *
 * @example
 * const prep = cell.prepare(p);
 * const xw = tf.reshape(cell.project(p, x), [T, B, cell.gates * H]) as Tensor3D;
 * const { hs, state: next } = recurrence(cell, p, prep, o, xw, state);
 */
export function recurrence(
  cell: CellDef,
  p: CellParams,
  prep: Prepared,
  o: CellOptions,
  xw: Tensor3D,
  state: CellState,
): { hs: Tensor3D; state: CellState } {
  const [T, B] = xw.shape;
  const H = o.hidden;
  const family = cell.family;
  if (!family) throw new Error(`The ${cell.gates}-gate cell has no recurrence family`);
  if (cell.hasCell && !state.c) throw new Error("The LSTM state needs its cell c");
  const s0 = (cell.hasCell ? tf.stack([state.h, state.c!]) : tf.expandDims(state.h, 0)) as Tensor3D;
  // The complex modReLU's b_mod has one entry per complex unit: padded to H with zeros.
  const v =
    (family === "gru" || family === "cgru"
      ? p.c_n
      : o.activation === "modrelu" && family === "rnn"
      ? p.b_mod
      : o.activation === "modrelu" && family === "crnn" && p.b_mod
      ? tf.concat([p.b_mod, tf.zeros([H - p.b_mod.shape[0]!])])
      : tf.zeros([H])) as Tensor1D;
  if (!v) throw new Error(`The ${family} cell's vector parameter is missing`);
  const y = runRecurrence({ xw, U: prep.U, s0, v }, {
    family,
    activation: o.activation,
    slope: o.leakySlope,
  });
  const F = forwardLayout(dimsOf(family, xw.shape)), BH = B * H;
  const hs = tf.reshape(tf.slice(y, [F.h], [T * BH]), [T, B, H]);
  const last = (at: number) => tf.reshape(tf.slice(y, [at + (T - 1) * BH], [BH]), [B, H]);
  return {
    hs: hs as Tensor3D,
    state: { h: last(F.h) as Tensor2D, ...(cell.hasCell ? { c: last(F.c) as Tensor2D } : {}) },
  };
}
