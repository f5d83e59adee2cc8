/**
 * What the full-budget grid records of each run, kept in reports/ptb-results.json under `grid`
 * so the report can be redrawn from a clean clone, with the rows still running marked.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ACTIVATIONS } from "../../shared/activations.ts";
import { CELL_KINDS } from "../../shared/config.ts";
import type { GridBudget, GridRun } from "./grid_rows.ts";

const GradPointSchema = z.object({
  step: z.number().int(),
  /** Global gradient norm before clipping: mean and largest over the log interval. */
  mean: z.number(),
  max: z.number(),
  /** ‖∂L/∂embedding‖ and ‖∂L/∂W‖ (first layer's input matrix), interval means. */
  embedding: z.number(),
  input: z.number(),
  /** Training loss (nats per token), the interval's mean. */
  loss: z.number().optional(),
});
export type GradPoint = z.infer<typeof GradPointSchema>;

export const GridRunResultSchema = z.object({
  id: z.string(),
  base: z.string(),
  table: z.enum(["activation", "bptt", "reference"]),
  cell: z.enum(CELL_KINDS),
  activation: z.enum(ACTIVATIONS).optional(),
  bptt: z.number().int(),
  seed: z.number().int(),
  stateReset: z.enum(["none", "window"]),
  status: z.enum(["running", "done", "diverged"]),
  command: z.string(),
  started: z.string(),
  finished: z.string().optional(),
  machine: z.string(),
  steps: z.number().int(),
  tokens: z.number().int(),
  wallSeconds: z.number(),
  tokensPerSecond: z.number(),
  validPpl: z.number().optional(),
  testPpl: z.number().optional(),
  /** The epoch whose parameters the model keeps (best validation). */
  bestEpoch: z.number().int().optional(),
  history: z.array(z.object({
    epoch: z.number().int(),
    /** null where the epoch's mean loss overflowed (JSON has no Infinity). */
    trainPpl: z.number().nullable(),
    validPpl: z.number().nullable(),
    seconds: z.number(),
    lr: z.number(),
  })),
  grad: z.array(GradPointSchema),
  /** ‖∂L_T/∂h_(T−k)‖ for k = 0…K of the trained model, and |eigenvalue| ranges. */
  gradflow: z.object({
    k: z.number().int(),
    norms: z.array(z.number()),
    eigen: z.array(z.object({ block: z.string(), min: z.number(), max: z.number() })),
  }).optional(),
  /** Why a diverged run stopped, from the trainer's own message. */
  message: z.string().optional(),
});
export type GridRunResult = z.infer<typeof GridRunResultSchema>;

export const GridResultsSchema = z.object({
  budget: z.object({
    epochs: z.number().int(),
    hidden: z.number().int(),
    batch: z.number().int(),
    lr: z.number(),
    dropout: z.number(),
    clip: z.number(),
    tie: z.boolean(),
  }),
  command: z.string(),
  runs: z.array(GridRunResultSchema),
});
export type GridResults = z.infer<typeof GridResultsSchema>;

/** At most `max` points, evenly spread and always keeping the last. */
export function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const every = Math.ceil(xs.length / max);
  return xs.filter((_, i) => i % every === 0 || i === xs.length - 1);
}

/** The gradient-norm series of a run's metrics.jsonl batch lines. */
export function gradSeries(metricsJsonl: string, max = 200): GradPoint[] {
  const points = metricsJsonl.split("\n").filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === "batch" && typeof r.grad_norm_embedding === "number")
    .map((r) => ({
      step: r.step,
      mean: r.grad_norm_mean,
      max: r.grad_norm_max,
      embedding: r.grad_norm_embedding,
      input: r.grad_norm_input,
      loss: r.loss,
    }))
    .filter((p) => [p.mean, p.max, p.embedding, p.input, p.loss].every(Number.isFinite));
  return thin(points, max);
}

/** The trainer's reason for stopping a run whose loss or weights became non-finite. */
export function divergenceMessage(log: string): string | undefined {
  const line = log.split("\n").reverse().find((l) => /Loss became|became non-finite/.test(l));
  return line?.replace(/^.*?(Loss became|Parameter)/, "$1").trim();
}

/** A finished (or diverged) run folder's results. */
export async function readRunResult(
  r: GridRun,
  dir: string,
  o: { command: string; started: string; machine: string; diverged?: string },
): Promise<GridRunResult> {
  const metrics = await readFile(join(dir, "metrics.jsonl"), "utf8").catch(() => "");
  const lines = metrics.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
  const batches = lines.filter((l) => l.type === "batch");
  const last = batches.at(-1);
  const base = {
    ...r,
    command: o.command,
    started: o.started,
    finished: new Date().toISOString(),
    machine: o.machine,
    grad: gradSeries(metrics),
  };
  if (o.diverged !== undefined) {
    return {
      ...base,
      status: "diverged",
      steps: last?.step ?? 0,
      tokens: last?.tokens ?? 0,
      wallSeconds: last?.t ?? 0,
      tokensPerSecond: last?.tokens_per_s ?? 0,
      history: lines.filter((l) => l.type === "epoch").map(epochOf),
      message: o.diverged,
    };
  }
  const model = JSON.parse(await readFile(join(dir, "model", "model.json"), "utf8"));
  const history = (model.provenance.history ?? []).map(epochOf);
  const best = history.reduce(
    // An epoch with no finite validation perplexity (null) is never the best.
    (b: number, h: { validPpl: number | null }, i: number) =>
      (h.validPpl ?? Infinity) < (history[b]?.validPpl ?? Infinity) ? i : b,
    0,
  );
  return {
    ...base,
    status: "done",
    steps: model.metrics.steps,
    tokens: model.metrics.tokens ?? last?.tokens ?? 0,
    wallSeconds: Number(model.provenance.wall_seconds),
    tokensPerSecond: model.metrics.tokens_per_s,
    // The 10-column layout for every row: the figure the trainer has always reported, so rows
    // trained before and after the one-stream protocol compare.
    validPpl: model.metrics.valid_ppl_columns ?? model.metrics.valid_ppl,
    testPpl: model.metrics.test_ppl_columns ?? model.metrics.test_ppl,
    ...(history.length ? { bestEpoch: history[best]!.epoch } : {}),
    history,
  };
}

const finiteOrNull = (x: number | null | undefined) =>
  typeof x === "number" && Number.isFinite(x) ? x : null;

function epochOf(h: Record<string, number>) {
  return {
    epoch: h.epoch!,
    trainPpl: finiteOrNull(h.trainPpl ?? h.train_ppl),
    validPpl: finiteOrNull(h.validPpl ?? h.valid_ppl),
    seconds: h.seconds ?? h.time!,
    lr: h.lr!,
  };
}

/** Replace (or add) one run's entry, keeping the runs in grid order. */
export function mergeRun(
  grid: GridResults | undefined,
  budget: GridBudget,
  command: string,
  result: GridRunResult,
  order: string[],
): GridResults {
  const runs = (grid?.runs ?? []).filter((r) => r.id !== result.id);
  runs.push(result);
  const rank = (id: string) => {
    const i = order.indexOf(id);
    return i < 0 ? order.length : i;
  };
  runs.sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
  return { budget: { ...budget }, command, runs };
}
