/** The names of the recurrent cells: the one list both the model config and the cell table read. */
export const CELL_KINDS = ["rnn", "urnn", "gru", "ugru", "lstm", "curnn", "cugru"] as const;
export type CellKind = (typeof CELL_KINDS)[number];
