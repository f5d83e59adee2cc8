/** The recurrent cells, by name. */
import type { CellKind } from "../config.ts";
import type { CellDef } from "./types.ts";
import { rnn, urnn } from "./rnn.ts";
import { gru, ugru } from "./gru.ts";
import { lstm } from "./lstm.ts";

export type { CellDef, CellOptions, CellParams, CellState, Prepared } from "./types.ts";

export const CELLS: Record<CellKind, CellDef> = { rnn, urnn, gru, ugru, lstm };
