/** Training the grid's rows with the trainer, and reading back what each run recorded. */
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseModelFile } from "../../shared/model_format.ts";
import { train } from "../../trainer/train.ts";
import { type Budget, type GridRow, stepsFor, trainArgs } from "./ptb_grid.ts";
import type { RowResult } from "./ptb_results.ts";

export interface RunOptions {
  runs: string;
  data: string;
  backend: string;
  /** The trainer's --dry-run: three small batches, scored on a slice. */
  dryRun: boolean;
  /** Pass --skip-md5: a corpus that is not PTB (tests). */
  skipMd5: boolean;
  /** Read a finished run folder (one that reached the budget) instead of training again. */
  reuse: boolean;
}

/** Training loss against tokens seen, from the run's metrics.jsonl batch lines. */
export function lossCurve(
  metricsJsonl: string,
  tokensPerStep: number,
): { tokens: number; loss: number }[] {
  return metricsJsonl.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))
    .filter((r) => r.type === "batch")
    .map((r) => ({ tokens: r.step * tokensPerStep, loss: r.loss }));
}

/** Train one row from scratch (its old run folder is removed) and collect its results. */
export async function runRow(row: GridRow, budget: Budget, o: RunOptions): Promise<RowResult> {
  const dir = join(o.runs, row.id);
  const args = [
    ...trainArgs(row, budget),
    "--runs",
    o.runs,
    "--data",
    o.data,
    "--backend",
    o.backend,
    ...(o.dryRun ? ["--dry-run"] : []),
    ...(o.skipMd5 ? ["--skip-md5"] : []),
  ];
  const command = `deno task train ${args.join(" ")}`;
  if (o.reuse && !o.dryRun && existsSync(join(dir, "model", "model.json"))) {
    // Only a run made by this very command, and finished, stands in for a new one.
    const saved = JSON.parse(await readFile(join(dir, "config.json"), "utf8")).command;
    const done = await readRow(row, budget, dir, command);
    if (saved === command && done.steps === stepsFor(budget, row.bptt)) return done;
  }
  await rm(dir, { recursive: true, force: true });
  await train(args);
  return await readRow(row, budget, dir, command);
}

/** The results of a finished run folder. */
export async function readRow(
  row: GridRow,
  budget: Budget,
  dir: string,
  command: string,
): Promise<RowResult> {
  const where = join(dir, "model", "model.json");
  const meta = parseModelFile(JSON.parse(await readFile(where, "utf8")), where);
  const metric = (k: string) => {
    const v = meta.metrics[k];
    if (v === undefined) throw new Error(`${where} has no metrics.${k}`);
    return v;
  };
  return {
    id: row.id,
    table: row.table,
    cell: row.cell,
    ...(row.activation ? { activation: row.activation } : {}),
    bptt: row.bptt,
    steps: metric("steps"),
    command,
    validPpl: metric("valid_ppl"),
    testPpl: metric("test_ppl"),
    wallSeconds: Number(meta.provenance.wall_seconds ?? NaN),
    tokensPerSecond: metric("tokens_per_s"),
    curve: lossCurve(
      await readFile(join(dir, "metrics.jsonl"), "utf8"),
      budget.batch * row.bptt,
    ),
  };
}
