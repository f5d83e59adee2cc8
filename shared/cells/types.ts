import type { Tensor1D, Tensor2D } from "../tf.ts";
import type { Activation } from "../activations.ts";
import type { Prng } from "../prng.ts";
import type { RecurrentInit } from "../orthogonal_init.ts";
import type { Family } from "../recurrence/spec.ts";

/** A cell's parameters: plain named tensors (names follow the papers: W, U, b). */
export type CellParams = Record<string, Tensor2D | Tensor1D>;

/** A cell's recurrent state: h, and c for the LSTM. Each [B, H] (complex cells: [Re h | Im h]). */
export interface CellState {
  h: Tensor2D;
  c?: Tensor2D;
}

export interface CellOptions {
  inSize: number;
  hidden: number;
  activation: Activation;
  leakySlope: number;
  recurrentInit: RecurrentInit;
}

/**
 * A recurrent cell as data and pure functions. A sequence runs as one batched input
 * projection `project` (x·W + b for all time steps at once) followed by `recur` per step;
 * `prepare` builds per-sequence constants (concatenated and transposed recurrent blocks).
 */
export interface CellDef {
  /**
   * The step's shape, for the recurrence op (shared/recurrence/): σ(a), GRU or LSTM gates;
   * null for the complex cells, which the op does not implement (they run as composed ops).
   */
  family: Family | null;
  /** Parameter shapes, by name. */
  shapes(o: CellOptions): Record<string, number[]>;
  /** Names of the H×H parameters that the optimizer keeps orthogonal. */
  orthogonal: readonly string[];
  /**
   * Names of the complex H×H parameters, stored [H, 2H] = [Re | Im] (cells/complex.ts), that
   * the optimizer keeps unitary: the same Lie-group step on their real block φ(W).
   */
  unitary: readonly string[];
  /** Initial values for one parameter. */
  init(name: string, shape: number[], o: CellOptions, prng: Prng): Float32Array;
  /** Number of gate blocks in the projection: xw is [N, gates·H]. */
  gates: number;
  /** x [N, In] → xw [N, gates·H]. */
  project(p: CellParams, x: Tensor2D): Tensor2D;
  prepare(p: CellParams): Prepared;
  /** One time step from a projected input xw_t [B, gates·H]. */
  recur(p: CellParams, prep: Prepared, o: CellOptions, state: CellState, xw: Tensor2D): CellState;
  hasCell: boolean;
}

/** Per-sequence constants: the recurrent matrix [H, gates·H] and its transpose. */
export interface Prepared {
  U: Tensor2D;
  UT: Tensor2D;
}
