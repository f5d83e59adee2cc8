/** `deno task toy` flags: the task, the model, training, and the sweeps. */
import { z } from "zod";
import { ACTIVATIONS } from "../../shared/activations.ts";
import { BACKENDS } from "../../shared/backend.ts";
import { RECURRENCES } from "../../shared/recurrence/mod.ts";
import { CELL_KINDS } from "../../shared/config.ts";
import { RECURRENT_INITS } from "../../shared/orthogonal_init.ts";
import type { Flags } from "../../shared/flags.ts";
import { TASK_KINDS } from "./tasks.ts";
import { REPLACE_FLAG } from "../report_out.ts";

const int = (min: number) => z.number().int().min(min);

export const SWEEPS = ["poster", "standard"] as const;
export type SweepKind = (typeof SWEEPS)[number];

export const TOY_FLAGS = {
  task: { schema: z.enum(TASK_KINDS).default("first"), help: "Toy task" },
  length: {
    schema: int(1).default(20),
    help: "Sequence length L (copy: blanks T; adding: length T)",
  },
  classes: { schema: int(2).default(10), help: "first: symbols K (chance 1/K)" },
  maxValue: { schema: int(2).default(100), help: "kth: values drawn from 1…M" },
  rank: { schema: int(1).default(3), help: "kth: answer is the k-th largest distinct value" },
  cell: { schema: z.enum(CELL_KINDS).default("urnn"), help: "Recurrent cell" },
  activation: {
    schema: z.enum(ACTIVATIONS).default("modrelu"),
    help: "σ for rnn/urnn/curnn (modrelu: the uRNN's, Arjovsky et al. 2016; complex for curnn)",
  },
  leakySlope: {
    schema: z.number().min(0).max(1).default(0.01),
    help: "Negative slope of leaky_relu",
  },
  recurrentInit: {
    schema: z.enum(RECURRENT_INITS).optional(),
    help: "H×H init (default haar for urnn/ugru/curnn/cugru, uniform otherwise)",
  },
  hidden: {
    schema: int(1).default(128),
    help: "Hidden units (curnn/cugru: reals of the state, 2 per complex unit)",
  },
  readout: {
    schema: z.enum(["linear", "mlp"]).default("linear"),
    help: "Answer from the final state: linear, or mlp (one ReLU layer first)",
  },
  readoutHidden: { schema: z.number().int().min(0).default(0), help: "mlp units (0: --hidden)" },
  batch: { schema: int(1).default(64), help: "Sequences per training batch (fresh every step)" },
  steps: { schema: int(1).default(2000), help: "Optimizer steps" },
  optimizer: {
    schema: z.enum(["adam", "sgd"]).default("adam"),
    help: "Optimizer for ordinary parameters",
  },
  lr: { schema: z.number().positive().default(0.005), help: "Learning rate" },
  orthOptimizer: {
    schema: z.enum(["adam", "sgd"]).default("adam"),
    help: "Direction for the orthogonal step",
  },
  lrOrth: { schema: z.number().min(0).default(0), help: "Orthogonal learning rate (0: --lr)" },
  clip: { schema: z.number().min(0).default(1), help: "Clip global gradient norm (0: off)" },
  heldOut: { schema: int(1).default(10000), help: "Held-out sequences to evaluate on" },
  evalBatch: { schema: int(1).default(200), help: "Sequences per evaluation batch" },
  logEvery: { schema: int(1).default(50), help: "Steps between progress lines and curve points" },
  seed: { schema: z.number().int().default(1), help: "Seed for weights and data" },
  out: {
    schema: z.string().optional(),
    help: "JSON result file (default runs/toy/<task>-L<L>-<cell>-s<seed>.json)",
  },
  sweep: { schema: z.enum(SWEEPS).optional(), help: "Run a sweep and write the report" },
  cells: {
    schema: z.string().default("rnn,urnn,gru,ugru"),
    help: `Sweep: cells, comma-separated (${CELL_KINDS.join(",")})`,
  },
  skip: {
    schema: z.string().regex(/^([a-z]+:\d+(,[a-z]+:\d+)*)?$/, "expected task:L,task:L").default(""),
    help: "Sweep: grid points to leave out, as task:L,… (reported as not run)",
  },
  jobs: {
    schema: int(1).default(1),
    help: "Sweep: runs at once, each in its own process (one core each)",
  },
  report: {
    schema: z.string().optional(),
    help: "Sweep: folder for toy.md and plots (default: a new one under runs/reports/)",
  },
  replace: REPLACE_FLAG,
  backend: { schema: z.enum(BACKENDS).default("auto"), help: "TensorFlow.js backend" },
  recurrence: {
    schema: z.enum(RECURRENCES).default("fused"),
    help: "The unroll: one op with its own backward (wasm, webgpu) or per-step tfjs ops",
  },
  dryRun: {
    schema: z.boolean().default(false),
    help: "Tiny model, 3 steps, 16 held-out sequences; then exit",
  },
};

export type ToyFlags = Flags<typeof TOY_FLAGS>;

/** The flags' defaults: the settings every sweep run starts from. */
export function defaultToyFlags(): ToyFlags {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(TOY_FLAGS)) out[k] = f.schema.parse(undefined);
  return out as ToyFlags;
}

/**
 * The flags `--sweep poster` starts from (flags given on the command line win): the settings
 * of reports/toy.md's poster sweep (2026-11-26). Identity init with modReLU's bias at 0 makes
 * the uRNN start as a linear count code of the values seen, a small orthogonal lr keeps W near
 * the identity, and the MLP read-out decodes the counts; batch 256 needs fewer steps than 64
 * and costs about 3× a batch-64 step on wasm. The RNN rows get the same settings.
 */
// deno-fmt-ignore
export const POSTER_PRESET: readonly string[] = [
  "--cells", "rnn,urnn",
  "--hidden", "128",
  "--batch", "256",
  "--steps", "1500",
  "--lr", "0.001",
  "--lr-orth", "0.0001",
  "--recurrent-init", "identity",
  "--readout", "mlp",
  "--readout-hidden", "256",
];

/** What --dry-run changes: a tiny model and run. */
export function dryRunFlags(f: ToyFlags): ToyFlags {
  return { ...f, hidden: 8, batch: 4, steps: 3, heldOut: 16, evalBatch: 8, logEvery: 1 };
}
