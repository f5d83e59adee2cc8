/**
 * A layer's recurrence, run one of two ways: `fused`, the recurrence op (one registered kernel
 * with its own backward, on wasm and webgpu; recurrence.ts), or `composed`, the cell's step
 * as tfjs ops per time step (shared/cells/unroll.ts), the reference the op is tested against.
 */
import { tf } from "../tf.ts";
import type { Tensor3D } from "../tf.ts";
import { unroll } from "../cells/unroll.ts";
import type { CellDef, CellOptions, CellParams, CellState, Prepared } from "../cells/types.ts";
import { hasRecurrenceOp, recurrence } from "./recurrence.ts";

export { hasRecurrenceOp, installRecurrence, recurrence } from "./recurrence.ts";
export type { Family, RecurrenceAttrs } from "./spec.ts";

export const RECURRENCES = ["fused", "composed"] as const;
export type RecurrenceKind = (typeof RECURRENCES)[number];

/**
 * Run `cell` over xw [T, B, gates·H] from `state`: the op when `kind` is fused and the backend
 * and the cell's family have it (else the composed ops). Returns every step's h [T, B, H] and the final state.
 */
export function unrollLayer(
  kind: RecurrenceKind,
  cell: CellDef,
  p: CellParams,
  prep: Prepared,
  o: CellOptions,
  xw: Tensor3D,
  state: CellState,
): { hs: Tensor3D; state: CellState } {
  if (kind === "fused" && cell.family && hasRecurrenceOp()) {
    return recurrence(cell, p, prep, o, xw, state);
  }
  const { hs, state: next } = unroll(cell, p, prep, o, xw, state);
  return { hs: tf.stack(hs, 0) as Tensor3D, state: next };
}
