/**
 * The recurrence over time, written once: training, scoring, prefill, the toy tasks and the
 * gradient-flow probe all run a sequence as one batched input projection followed by this
 * loop of the cell's step.
 */
import { tf } from "../tf.ts";
import type { Tensor2D, Tensor3D } from "../tf.ts";
import type { CellDef, CellOptions, CellParams, CellState, Prepared } from "./types.ts";

/**
 * Run `cell` over the projected inputs xw [T, B, gates·H] from `state`. `afterStep` may
 * replace the state after step t (the gradient-flow probe adds to h there). Returns every
 * step's h (each [B, H]) and the final state.
 */
export function unroll(
  cell: CellDef,
  p: CellParams,
  prep: Prepared,
  o: CellOptions,
  xw: Tensor3D,
  state: CellState,
  afterStep?: (s: CellState, t: number) => CellState,
): { hs: Tensor2D[]; state: CellState } {
  // One step is a reshape: tfjs's gradient of a one-output unstack hands stack a lone tensor.
  const [T, B, G] = xw.shape;
  const steps = (T === 1 ? [tf.reshape(xw, [B, G])] : tf.unstack(xw, 0)) as Tensor2D[]; // T × [B,G]
  const hs: Tensor2D[] = [];
  let s = state;
  for (let t = 0; t < steps.length; t++) {
    s = cell.recur(p, prep, o, s, steps[t]!);
    if (afterStep) s = afterStep(s, t);
    hs.push(s.h);
  }
  return { hs, state: s };
}
