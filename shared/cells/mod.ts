/** The recurrent cells, by name. */
import type { CellKind } from "./kinds.ts";
import type { CellDef } from "./types.ts";
import { rnn, urnn } from "./rnn.ts";
import { gru, ugru } from "./gru.ts";
import { lstm } from "./lstm.ts";
import { curnn } from "./curnn.ts";
import { cugru } from "./cugru.ts";

export type { CellDef, CellOptions, CellParams, CellState, Prepared } from "./types.ts";
export { unroll } from "./unroll.ts";

export const CELLS: Record<CellKind, CellDef> = { rnn, urnn, gru, ugru, lstm, curnn, cugru };

/**
 * Whether a cell keeps recurrent matrices orthogonal or unitary (so they need an orthogonal
 * init): declared by the cell definitions alone.
 */
export const isOrthogonal = (cell: CellKind): boolean =>
  CELLS[cell].orthogonal.length + CELLS[cell].unitary.length > 0;

/** Whether a cell's state is complex, [Re h | Im h]: its hidden size must be even. */
export const isComplex = (cell: CellKind): boolean => CELLS[cell].unitary.length > 0;

/** The recurrent init a cell starts from when none is given: Haar for orthogonal cells. */
export const defaultRecurrentInit = (cell: CellKind) => (isOrthogonal(cell) ? "haar" : "uniform");
