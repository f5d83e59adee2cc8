/**
 * Everything reports/ptb.md is made from, saved as reports/ptb-results.json (runs/ is not
 * committed), so `deno task report:ptb` can redraw the report without training again.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { ACTIVATIONS } from "../../shared/activations.ts";
import { CELL_KINDS } from "../../shared/config.ts";
import { writeAtomic } from "../../shared/model_format.ts";
import { GridResultsSchema } from "./grid_results.ts";

const RowResultSchema = z.object({
  id: z.string(),
  table: z.enum(["activation", "bptt"]),
  cell: z.enum(CELL_KINDS),
  activation: z.enum(ACTIVATIONS).optional(),
  bptt: z.number().int(),
  steps: z.number().int(),
  command: z.string(),
  validPpl: z.number(),
  testPpl: z.number(),
  wallSeconds: z.number(),
  tokensPerSecond: z.number(),
  /** Training loss (window mean) against training tokens seen. */
  curve: z.array(z.object({ tokens: z.number(), loss: z.number() })),
});
export type RowResult = z.infer<typeof RowResultSchema>;

const TimingSchema = z.object({
  hidden: z.number().int(),
  batch: z.number().int(),
  bptt: z.number().int(),
  vocab: z.number().int(),
  reps: z.number().int(),
  cells: z.array(z.object({
    label: z.string(),
    /** Median milliseconds of forward + backward alone. */
    fwdBwdMs: z.number(),
    /** Median milliseconds of the whole step: gradients, clipping, Adam, orthogonal step. */
    stepMs: z.number(),
    /** Every repetition, in order: repetition i of every cell ran in the same round. */
    fwdBwdSamples: z.array(z.number()).optional(),
    stepSamples: z.array(z.number()).optional(),
  })),
  /** The command that measured the timing, when it was re-measured on its own. */
  command: z.string().optional(),
  date: z.string().optional(),
  /** The machine's 1-minute load average when the timing started. */
  loadAverage: z.number().optional(),
});
export type Timing = z.infer<typeof TimingSchema>;

const GradflowSeriesSchema = z.object({
  label: z.string(),
  family: z.enum(["rnn", "gru"]),
  stage: z.enum(["init", "trained"]),
  /** ‖∂L_T/∂h_(T−k)‖ for k = 0…K. */
  norms: z.array(z.number()),
  /** Range of |eigenvalue| of each recurrent block. */
  eigen: z.array(z.object({ block: z.string(), min: z.number(), max: z.number() })),
});
export type GradflowSeries = z.infer<typeof GradflowSeriesSchema>;

const SamplesSchema = z.object({
  temperature: z.number(),
  maxTokens: z.number().int(),
  models: z.array(z.object({
    dir: z.string(),
    /** Missing folders are listed with no sentences. */
    found: z.boolean(),
    testPpl: z.number().optional(),
    /** The training command from the model's provenance: which model was sampled. */
    command: z.string().optional(),
    sentences: z.array(z.object({ seed: z.number().int(), text: z.string() })),
  })),
});
export type Samples = z.infer<typeof SamplesSchema>;

export const PtbResultsSchema = z.object({
  version: z.literal(1),
  date: z.string(),
  machine: z.string(),
  backend: z.string(),
  runtime: z.string(),
  command: z.string(),
  budget: z.object({
    tokens: z.number().int(),
    batch: z.number().int(),
    hidden: z.number().int(),
    seed: z.number().int(),
    lr: z.number(),
    tie: z.boolean(),
  }),
  rows: z.array(RowResultSchema),
  timing: TimingSchema,
  gradflow: z.object({
    k: z.number().int(),
    batch: z.number().int(),
    batches: z.number().int(),
    series: z.array(GradflowSeriesSchema),
  }),
  samples: SamplesSchema,
  /** The full-budget grid, filled run by run by `deno task grid:ptb`. */
  grid: GridResultsSchema.optional(),
});
export type PtbResults = z.infer<typeof PtbResultsSchema>;

export async function readResults(path: string): Promise<PtbResults> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new Error(
      `Cannot read results "${path}": ${(err as Error).message}; make them with --rerun`,
    );
  }
  const r = PtbResultsSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`Results "${path}" are invalid at "${i.path.join(".")}": ${i.message}`);
  }
  return r.data;
}

export async function writeResults(path: string, results: PtbResults): Promise<void> {
  await writeAtomic(path, JSON.stringify(PtbResultsSchema.parse(results), null, 1) + "\n");
}
