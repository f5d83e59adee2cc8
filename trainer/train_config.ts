/** The trainer's flags: model architecture (→ ModelConfig) and training settings. */
import { z } from "zod";
import { ACTIVATIONS } from "../shared/activations.ts";
import { CELL_KINDS, type ModelConfig, parseModelConfig } from "../shared/config.ts";
import { RECURRENT_INITS } from "../shared/orthogonal_init.ts";
import { BACKENDS } from "../shared/backend.ts";
import { RECURRENCES } from "../shared/recurrence/mod.ts";
import { COLUMNS, readingOptions } from "../shared/eval_protocol.ts";
import type { Flags } from "../shared/flags.ts";

const int = (min: number) => z.number().int().min(min);

export const TRAIN_FLAGS = {
  cell: { schema: z.enum(CELL_KINDS).default("ugru"), help: "Recurrent cell" },
  activation: { schema: z.enum(ACTIVATIONS).default("tanh"), help: "σ for rnn/urnn/curnn" },
  leakySlope: {
    schema: z.number().min(0).max(1).default(0.01),
    help: "Negative slope of leaky_relu",
  },
  hidden: {
    schema: int(1).default(256),
    help: "Hidden units per layer (curnn/cugru: reals, 2 per complex unit)",
  },
  embed: { schema: int(0).default(0), help: "Embedding size (0: same as --hidden)" },
  layers: { schema: int(1).default(1), help: "Stacked recurrent layers" },
  tie: { schema: z.boolean().default(false), help: "Tie output projection to the embedding" },
  recurrentInit: {
    schema: z.enum(RECURRENT_INITS).optional(),
    help: "H×H init: haar, henaff, identity (default haar for urnn/ugru/curnn/cugru) or uniform",
  },
  batch: { schema: int(1).default(20), help: "Batch size (parallel streams)" },
  bptt: { schema: int(1).default(35), help: "Truncated BPTT length" },
  epochs: { schema: int(1).default(10), help: "Epochs over the training data" },
  maxMinutes: {
    schema: z.number().min(0).default(0),
    help: "Wall-clock budget in minutes (0: none)",
  },
  maxSteps: {
    schema: int(0).default(0),
    help: "Stop after this many optimizer steps in total (0: none)",
  },
  dropout: {
    schema: z.number().min(0).max(0.9).default(0),
    help: "Dropout on embeddings and layer outputs",
  },
  optimizer: {
    schema: z.enum(["adam", "sgd"]).default("adam"),
    help: "Optimizer for ordinary parameters",
  },
  lr: { schema: z.number().positive().default(0.002), help: "Learning rate" },
  orthOptimizer: {
    schema: z.enum(["adam", "sgd"]).default("adam"),
    help: "Direction for the orthogonal step",
  },
  lrOrth: { schema: z.number().min(0).default(0), help: "Orthogonal learning rate (0: --lr / 10)" },
  lrDecay: {
    schema: z.number().positive().max(1).default(0.5),
    help: "LR factor when validation stops improving",
  },
  stateReset: {
    schema: z.enum(["none", "window"]).default("none"),
    help: "Hidden state at each window: carried (none) or reset to zero (window)",
  },
  clip: { schema: z.number().min(0).default(1), help: "Clip global gradient norm (0: off)" },
  orthCheckEvery: { schema: int(1).default(20), help: "Steps between orthogonality drift checks" },
  orthTol: {
    schema: z.number().positive().default(5e-6),
    help: "Re-orthogonalise when max|WᵀW−I| exceeds this",
  },
  seed: { schema: z.number().int().default(1), help: "Seed for weights, dropout and sampling" },
  data: { schema: z.string().optional(), help: "PTB folder (default $PTB_DIR, else data/ptb)" },
  skipMd5: {
    schema: z.boolean().default(false),
    help: "Accept a corpus that is not PTB (no MD5 check)",
  },
  name: { schema: z.string().regex(/^[\w.-]+$/).optional(), help: "Run name (folder under runs/)" },
  runs: { schema: z.string().default("runs"), help: "Folder that holds runs" },
  out: { schema: z.string().optional(), help: "Model folder to write (default runs/<name>/model)" },
  resume: { schema: z.string().optional(), help: "Continue the run in this folder" },
  checkpointMinutes: {
    schema: z.number().positive().default(5),
    help: "Minutes between checkpoints",
  },
  checkpointEvery: { schema: int(0).default(0), help: "Also checkpoint every N steps (0: off)" },
  logEvery: { schema: int(1).default(20), help: "Steps between metrics lines" },
  backend: { schema: z.enum(BACKENDS).default("auto"), help: "TensorFlow.js backend" },
  workers: {
    schema: int(1).max(16).default(1),
    help: "Data-parallel shards of each batch, one thread each (use the machine's cores)",
  },
  recurrence: {
    schema: z.enum(RECURRENCES).default("fused"),
    help: "Each layer's unroll: one op with its own backward (wasm, webgpu) or per-step tfjs ops",
  },
  dryRun: { schema: z.boolean().default(false), help: "A few small batches, then exit" },
};

export type TrainConfig = Flags<typeof TRAIN_FLAGS>;

export function modelConfigOf(t: TrainConfig, vocabSize: number): ModelConfig {
  return parseModelConfig({
    cell: t.cell,
    activation: t.activation,
    leakySlope: t.leakySlope,
    vocabSize,
    embedSize: t.embed || t.hidden,
    hiddenSize: t.hidden,
    layers: t.layers,
    tieWeights: t.tie,
    ...(t.recurrentInit ? { recurrentInit: t.recurrentInit } : {}),
  });
}

export function runName(t: TrainConfig): string {
  const act = t.cell === "rnn" || t.cell === "urnn" || t.cell === "curnn" ? `-${t.activation}` : "";
  return t.name ?? `${t.cell}${act}-h${t.hidden}-bptt${t.bptt}-s${t.seed}`;
}

/** Tokens after which the run's state restarts from zero (model.json's stateResetEvery). */
export function stateResetEveryOf(t: Pick<TrainConfig, "stateReset" | "bptt">) {
  return t.stateReset === "window" ? t.bptt : undefined;
}

/** Scoring options that match how the run was trained (validation and the final test). */
export function evalOptionsOf(t: Pick<TrainConfig, "stateReset" | "bptt">) {
  return { ...COLUMNS, ...readingOptions(stateResetEveryOf(t)) };
}
