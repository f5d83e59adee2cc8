import { z } from "zod";
import { ACTIVATIONS } from "./activations.ts";
import { RECURRENT_INITS } from "./orthogonal_init.ts";
import { isComplex, isOrthogonal } from "./cells/mod.ts";
import { CELL_KINDS } from "./cells/kinds.ts";

export { CELL_KINDS, type CellKind } from "./cells/kinds.ts";

/** The architecture of a language model: everything needed to rebuild it, nothing about training. */
export const ModelConfigSchema = z.object({
  cell: z.enum(CELL_KINDS),
  /** σ of rnn/urnn/curnn cells (the gated cells use their own gate non-linearities). */
  activation: z.enum(ACTIVATIONS).default("tanh"),
  /** Negative slope of leaky_relu. */
  leakySlope: z.number().min(0).max(1).default(0.01),
  vocabSize: z.number().int().min(2),
  embedSize: z.number().int().min(1),
  /** Real numbers in a layer's state: a complex cell's 2H for H complex units ([Re h | Im h]). */
  hiddenSize: z.number().int().min(1),
  layers: z.number().int().min(1).max(8).default(1),
  /** Output projection shares the embedding matrix (needs embedSize = hiddenSize). */
  tieWeights: z.boolean().default(false),
  /** How H×H recurrent matrices start; default "haar" for the orthogonal and unitary cells. */
  recurrentInit: z.enum(RECURRENT_INITS).optional(),
}).strict().refine((c) => !c.tieWeights || c.embedSize === c.hiddenSize, {
  message: "tieWeights needs embedSize equal to hiddenSize",
  path: ["tieWeights"],
}).refine((c) => !isOrthogonal(c.cell) || c.recurrentInit !== "uniform", {
  message:
    "urnn, ugru, curnn and cugru need an orthogonal recurrentInit (haar, identity or henaff)",
  path: ["recurrentInit"],
}).refine((c) => !isComplex(c.cell) || c.hiddenSize % 2 === 0, {
  message: "curnn and cugru need an even hiddenSize (the real and imaginary halves of the state)",
  path: ["hiddenSize"],
});

export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

export function parseModelConfig(input: unknown): ModelConfig {
  const r = ModelConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`Invalid model config at "${issue.path.join(".")}": ${issue.message}`);
  }
  return r.data;
}
