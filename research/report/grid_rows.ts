/**
 * The full-budget grid behind reports/ptb.md: every row of the poster's two PTB tables trained
 * under one rule (same size, optimizer, schedule and epochs), plus the rows that test the |x|
 * fixes and an LSTM reference. A row is one training run; a second seed is another row.
 */
import type { Activation } from "../../shared/activations.ts";
import type { CellKind } from "../../shared/config.ts";

/** The one rule every row trains under. */
export interface GridBudget {
  /** Full passes over the 929,589 training tokens; the model kept is the best on validation. */
  epochs: number;
  hidden: number;
  batch: number;
  /** Adam's learning rate; the orthogonal step runs at lr / 10; both halve on a plateau. */
  lr: number;
  dropout: number;
  clip: number;
  /** Untied, so the gradient that reaches the embedding comes from the recurrence alone. */
  tie: boolean;
}

export const FULL_BUDGET: GridBudget = {
  epochs: 3,
  hidden: 256,
  batch: 20,
  lr: 0.002,
  dropout: 0,
  clip: 1,
  tie: false,
};

export type StateReset = "none" | "window";

export interface GridRun {
  /** Stable key, also the run's folder name: `<base>-s<seed>`. */
  id: string;
  /** The row without its seed: two seeds of one row share it. */
  base: string;
  table: "activation" | "bptt" | "reference";
  cell: CellKind;
  activation?: Activation;
  bptt: number;
  seed: number;
  /** "window": the hidden state starts from zero at every window, in training and scoring. */
  stateReset: StateReset;
}

function run(
  table: GridRun["table"],
  cell: CellKind,
  bptt: number,
  seed: number,
  activation?: Activation,
  stateReset: StateReset = "none",
): GridRun {
  const act = activation ? `-${activation}` : "";
  const reset = stateReset === "window" ? "-reset" : "";
  const base = `${cell}${act}${reset}-bptt${bptt}`;
  return {
    id: `${base}-s${seed}`,
    base,
    table,
    cell,
    ...(activation ? { activation } : {}),
    bptt,
    seed,
    stateReset,
  };
}

/**
 * Seed-1 rows in the order they are trained: the GRU pair first (the poster's strongest
 * claim), then |x| (whose divergence decides which variant the table can show), the other
 * activations, BPTT 150, the |x| runs with the state reset, and the LSTM reference.
 */
export function seedRows(seed: number): GridRun[] {
  const pair = (f: (cell: "rnn" | "urnn") => GridRun) => [f("urnn"), f("rnn")];
  return [
    run("bptt", "ugru", 35, seed),
    run("bptt", "gru", 35, seed),
    ...pair((c) => run("activation", c, 35, seed, "abs")),
    ...pair((c) => run("activation", c, 35, seed, "relu")),
    ...pair((c) => run("activation", c, 35, seed, "leaky_relu")),
    run("bptt", "ugru", 150, seed),
    run("bptt", "gru", 150, seed),
    ...pair((c) => run("activation", c, 35, seed, "abs", "window")),
    run("reference", "lstm", 35, seed),
  ];
}

/** The trainer's flags for one run (the caller adds --runs, --data and --backend). */
export function gridTrainArgs(r: GridRun, b: GridBudget): string[] {
  return [
    "--cell",
    r.cell,
    ...(r.activation ? ["--activation", r.activation] : []),
    "--hidden",
    String(b.hidden),
    ...(b.tie ? ["--tie"] : []),
    "--batch",
    String(b.batch),
    "--bptt",
    String(r.bptt),
    "--epochs",
    String(b.epochs),
    "--lr",
    String(b.lr),
    "--dropout",
    String(b.dropout),
    "--clip",
    String(b.clip),
    "--state-reset",
    r.stateReset,
    "--seed",
    String(r.seed),
    "--log-every",
    "20",
    "--name",
    r.id,
  ];
}
