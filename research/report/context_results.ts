/** The saved result of one `deno task context` run: every number, and how it was made. */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { writeAtomic } from "../../shared/model_format.ts";

const DistanceRowSchema = z.object({
  d: z.number().int(),
  loss: z.number(),
  increase: z.number(),
  stderr: z.number(),
  relIncrease: z.number(),
});

const PerturbationSchema = z.object({
  /** Smallest listed d beyond which perturbing costs < threshold; null: none of them. */
  effectiveContext: z.number().int().nullable(),
  rows: z.array(DistanceRowSchema),
});

export const ContextResultSchema = z.object({
  version: z.literal(1),
  command: z.string(),
  date: z.string(),
  machine: z.string(),
  backend: z.string(),
  runtime: z.string(),
  model: z.object({
    dir: z.string(),
    name: z.string(),
    cell: z.string(),
    activation: z.string(),
    hiddenSize: z.number().int(),
    layers: z.number().int(),
    testPpl: z.number().nullable(),
  }),
  data: z.object({
    source: z.string(),
    split: z.literal("test"),
    /** The split's MD5 when it was checked against PTB's; null with --skip-md5. */
    md5: z.string().nullable(),
    tokens: z.number().int(),
  }),
  settings: z.object({
    targets: z.number().int(),
    history: z.number().int(),
    distances: z.array(z.number().int()),
    seed: z.number().int(),
    block: z.number().int(),
    threshold: z.number(),
  }),
  result: z.object({
    targets: z.number().int(),
    loss: z.number(),
    perplexity: z.number(),
    windows: z.number().int(),
    perturbations: z.object({ shuffle: PerturbationSchema, replace: PerturbationSchema }),
  }),
  timing: z.object({ seconds: z.number(), tokensPerSecond: z.number() }),
});
export type ContextResult = z.infer<typeof ContextResultSchema>;

export async function readContextResult(path: string): Promise<ContextResult> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new Error(`Cannot read context result "${path}": ${(err as Error).message}`);
  }
  const r = ContextResultSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`Context result "${path}" is invalid at "${i.path.join(".")}": ${i.message}`);
  }
  return r.data;
}

export async function writeContextResult(path: string, result: ContextResult): Promise<void> {
  await writeAtomic(path, JSON.stringify(ContextResultSchema.parse(result), null, 1) + "\n");
}
