/**
 * What each benchmark prints as JSON: `bench:train` (bench/bench_train.ts), `bench:serve`
 * (bench/bench_serve.ts) and the PyTorch reference (bench/torch_ref.py). The suite
 * (bench/bench.ts) runs them as subprocesses and reads their output through these schemas,
 * so a changed or broken producer is reported by field rather than as a wrong number.
 */
import { z } from "zod";

const int = z.number().int().min(0);
/** A measured quantity: finite (zod refuses NaN and ±Infinity) and not negative. */
const num = z.number().min(0);

const MatMulSchema = z.object({ m: int, k: int, n: int, ms: num, gflops: num });

const TrainCellSchema = z.object({
  cell: z.string(),
  /** How each layer unrolled: the recurrence op (fused) or per-step tfjs ops (composed). */
  recurrence: z.enum(["fused", "composed"]).optional(),
  /** Median ms per batch of the whole step (gradients, clipping, Adam, orthogonal step). */
  stepMs: num,
  /** Median ms per batch of forward + backward alone. */
  fwdBwdMs: num,
  tokensPerS: num,
  /** tokens/s if the step's matrix products ran at the measured matMul GFLOPS. */
  rooflineTokensPerS: num,
  /** Every round's step ms, in round order (round i of every cell ran together). */
  stepSamples: z.array(num),
  /** One whole step's tfjs kernels, GPU dispatches (webgpu; else = kernels) and reads. */
  dispatches: z.object({ kernels: int, dispatches: int, reads: int }).optional(),
  /** The optimizer's share of those dispatches. */
  optimizerDispatches: int.optional(),
});

export const TrainBenchSchema = z.object({
  tool: z.literal("bench:train"),
  backend: z.string(),
  batch: int,
  hidden: int,
  vocab: int,
  reps: int,
  /** Wasm threads of the timing process (one-process rows; shard 0 of --workers rows). */
  threads: int.default(1),
  roofline: MatMulSchema,
  runs: z.array(z.object({ bptt: int, workers: int, cells: z.array(TrainCellSchema) })),
});
export type TrainBench = z.infer<typeof TrainBenchSchema>;

const RateSchema = z.object({ tokens: int, seconds: num, tokensPerS: num });
const ScoreSchema = z.object({
  /** Test-set lines scored (0: all). */
  lines: int,
  tokens: int,
  seconds: num,
  tokensPerS: num,
  perplexity: num,
});

export const ServeBenchSchema = z.object({
  tool: z.literal("bench:serve"),
  /** The server's own line about the model it serves. */
  model: z.string(),
  hidden: int,
  vocab: int,
  /** Process start → first streamed token, ms. */
  firstTokenMs: num,
  single: RateSchema,
  /** Concurrent streams: the aggregate rate, and the server's peak RSS during that load. */
  streams: z.array(RateSchema.extend({ n: int, peakRssMB: num })),
  score: ScoreSchema,
  /**
   * One stream generating while the test set is scored again: its tokens/s, the longest wait
   * for one of its token events (the first counted from the request), and how long that
   * scoring took.
   */
  scoreWhileStreaming: z.object({
    tokensPerS: num,
    maxGapMs: num,
    scoreSeconds: num,
  }).optional(),
  /** The server's peak RSS over the whole run (VmHWM), MB. */
  peakRssMB: num,
  /**
   * Short mixed requests (bench_serve.ts `churn`): the server's RSS after every tenth of them,
   * and its growth from the first reading to the last.
   */
  requests: z.object({
    n: int,
    seconds: num,
    rssMB: z.array(num),
    /** Last reading − first; negative when the server gave memory back. */
    growthMB: z.number(),
  }).optional(),
});
export type ServeBench = z.infer<typeof ServeBenchSchema>;

export const TorchRefSchema = z.object({
  tool: z.literal("torch_ref"),
  torch: z.string(),
  python: z.string(),
  threads: int,
  /** The GPU's name when train and matmul ran on one (`--device cuda`). */
  device: z.string().optional(),
  matmul: MatMulSchema.optional(),
  train: z.object({
    batch: int,
    hidden: int,
    vocab: int,
    reps: int,
    rows: z.array(z.object({
      cell: z.string(),
      bptt: int,
      stepMs: num,
      tokensPerS: num,
      stepSamples: z.array(num),
    })),
  }).optional(),
  generate: z.object({
    hidden: int,
    vocab: int,
    single: RateSchema,
    streams: z.array(RateSchema.extend({ n: int })),
  }).optional(),
  score: ScoreSchema.optional(),
  /** What was left out and why. */
  notes: z.array(z.string()).optional(),
});
export type TorchRef = z.infer<typeof TorchRefSchema>;

/** Parse a benchmark's JSON output; errors name the producer and the first bad field. */
export function parseResult<S extends z.ZodType>(
  schema: S,
  text: string,
  what: string,
): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const head = text.trim().slice(0, 80);
    throw new Error(`${what} printed no JSON document (${(err as Error).message}): "${head}"`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${what} output at "${issue.path.join(".")}": ${issue.message}`);
  }
  return r.data;
}
