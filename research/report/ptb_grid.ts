/**
 * The report's grid: which runs fill the poster's tables, and the one compute budget they
 * share. The budget is counted in training tokens, not minutes, because the machine's load
 * varies: every row sees the same number of tokens, so a BPTT-150 row takes fewer (longer)
 * steps than a BPTT-35 row.
 */
import type { Activation } from "../../shared/activations.ts";
import type { CellKind } from "../../shared/config.ts";

export interface Budget {
  /** Training tokens per row (batch × bptt × steps). */
  tokens: number;
  batch: number;
  hidden: number;
  seed: number;
  lr: number;
  /** Output projection tied to the embedding. */
  tie: boolean;
}

export interface GridRow {
  /** Stable key, also the run's folder name. */
  id: string;
  table: "activation" | "bptt";
  cell: CellKind;
  activation?: Activation;
  bptt: number;
}

export const ACTIVATION_ROWS: readonly GridRow[] = (["rnn", "urnn"] as const).flatMap((cell) =>
  (["relu", "abs", "leaky_relu"] as const).map((activation) => ({
    id: `${cell}-${activation}-bptt35`,
    table: "activation" as const,
    cell,
    activation,
    bptt: 35,
  }))
);

export const BPTT_ROWS: readonly GridRow[] = (["gru", "ugru"] as const).flatMap((cell) =>
  [35, 150].map((bptt) => ({ id: `${cell}-bptt${bptt}`, table: "bptt" as const, cell, bptt }))
);

export const GRID: readonly GridRow[] = [...ACTIVATION_ROWS, ...BPTT_ROWS];

/** Optimizer steps that spend the token budget at this row's BPTT length. */
export function stepsFor(budget: Budget, bptt: number): number {
  const perStep = budget.batch * bptt;
  if (budget.tokens % perStep !== 0) {
    throw new Error(
      `A budget of "${budget.tokens}" tokens is not a whole number of ${perStep}-token steps`,
    );
  }
  return budget.tokens / perStep;
}

/** The trainer's flags for one row (the caller adds --runs, --data and --backend). */
export function trainArgs(row: GridRow, budget: Budget): string[] {
  const steps = stepsFor(budget, row.bptt);
  return [
    "--cell",
    row.cell,
    ...(row.activation ? ["--activation", row.activation] : []),
    "--hidden",
    String(budget.hidden),
    ...(budget.tie ? ["--tie"] : []),
    "--batch",
    String(budget.batch),
    "--bptt",
    String(row.bptt),
    "--max-steps",
    String(steps),
    "--epochs",
    "1",
    "--lr",
    String(budget.lr),
    "--seed",
    String(budget.seed),
    "--log-every",
    String(Math.max(1, Math.round(steps / 30))),
    "--name",
    row.id,
  ];
}
