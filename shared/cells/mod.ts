/** The recurrent cells, by name. */
import type { CellKind } from "./kinds.ts";
import type { CellDef } from "./types.ts";
import { rnn, urnn } from "./rnn.ts";
import { gru, ugru } from "./gru.ts";
import { lstm } from "./lstm.ts";

export type { CellDef, CellOptions, CellParams, CellState, Prepared } from "./types.ts";
export { unroll } from "./unroll.ts";

export const CELLS: Record<CellKind, CellDef> = { rnn, urnn, gru, ugru, lstm };

/** Whether a cell keeps recurrent matrices orthogonal: declared by the cell definitions alone. */
export const isOrthogonal = (cell: CellKind): boolean => CELLS[cell].orthogonal.length > 0;

/** The recurrent init a cell starts from when none is given: Haar for orthogonal cells. */
export const defaultRecurrentInit = (cell: CellKind) => (isOrthogonal(cell) ? "haar" : "uniform");
