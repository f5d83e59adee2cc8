/**
 * Time per training batch of several models, as `bench:step`, `bench:train` and `report:ptb`
 * measure it: the models take turns (round-robin) within one process and each reports its
 * median, so a change in the machine's load during the measurement hits every model alike.
 * Also the roofline those steps are held against: a plain matMul's GFLOPS and the flops of a
 * training token.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../shared/tf.ts";
import { CELLS } from "../shared/cells/mod.ts";
import type { ModelConfig } from "../shared/config.ts";
import { initParams, orthogonalParams, unitaryParams } from "../shared/model.ts";
import { createPrng } from "../shared/prng.ts";
import type { RecurrenceKind } from "../shared/recurrence/mod.ts";
import { countDispatches, type DispatchCount } from "../shared/dispatch_count.ts";
import { createGradEngine } from "./grad_pool.ts";
import { applyStepOnDevice, defaultExpmPlan, initOptState } from "./optimizer.ts";

export interface StepTimeRow {
  label: string;
  /** Median ms of forward + backward alone. */
  fwdBwdMs: number;
  /** Median ms of the whole step: gradients, clipping, Adam and the orthogonal step. */
  stepMs: number;
  /** Every repetition's ms, in order; repetition i of every model ran in the same round. */
  fwdBwdSamples: number[];
  stepSamples: number[];
  /** Kernels, dispatches and reads of one whole step after the timed rounds. */
  dispatches: DispatchCount;
  /** The optimizer's share of those dispatches (clipping, Adam, the orthogonal step). */
  optimizerDispatches: number;
  /** Those dispatches by pass and kernel ("forward MatMul", "optimizer Sum", …). */
  byKernel: Record<string, number>;
  /** With `profile`: one whole step's time by kernel, ms (registered kernels only). */
  kernelMs?: Record<string, number>;
}

/** The q-quantile (nearest rank) of xs. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new Error("Cannot take a quantile of no values");
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
const median = (xs: readonly number[]) => quantile(xs, 0.5);

let serial = 0; // keeps variable names unique across calls

export interface StepTimeOptions {
  batch: number;
  bptt: number;
  reps: number;
  seed: number;
  /** Data-parallel shards per batch, one thread each, as `train --workers` (default 1). */
  workers?: number;
  /** Called after each round (0 is the warm-up) with the round and the number of rounds. */
  onRound?: (round: number, rounds: number) => void;
  /** Also time one whole step by kernel (tf.profile; wasm and CPU time synchronous kernels). */
  profile?: boolean;
}

/**
 * Round-robin timing of one training step per model on random tokens [batch, bptt], through
 * the trainer's own gradient engine (grad_pool.ts) and optimizer step, with the hidden state
 * carried from batch to batch: the step `deno task train` runs, less logging and checkpoints.
 */
export async function timeSteps(
  models: { label: string; cfg: ModelConfig; recurrence?: RecurrenceKind }[],
  o: StepTimeOptions,
): Promise<StepTimeRow[]> {
  const workers = o.workers ?? 1;
  const prng = createPrng(o.seed);
  const setups = [];
  for (const [i, { label, cfg, recurrence }] of models.entries()) {
    const vars: Record<string, Variable> = {};
    for (const [k, v] of Object.entries(initParams(cfg, o.seed))) {
      vars[k] = tf.variable(v, true, `step-time/${serial++}/${i}/${k}`);
      v.dispose();
    }
    const tokens = () =>
      Int32Array.from({ length: o.batch * o.bptt }, () => prng.int(cfg.vocabSize));
    const x = tokens(), y = tokens(); // [batch, bptt] row-major
    // The trainer's default unroll (the recurrence op) unless the model names another.
    const unroll = recurrence ?? "fused";
    const engine = await createGradEngine(cfg, o.batch, workers, 0, prng, vars, unroll);
    const opt = initOptState();
    const orth = new Set(orthogonalParams(cfg));
    const unitary = new Set(unitaryParams(cfg));
    const optCfg = {
      kind: "adam" as const,
      orthKind: "adam" as const,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      clip: 1,
      expmPlan: defaultExpmPlan(),
    };
    const run = {
      fwdBwd: async () => {
        const { grads } = await engine.step(vars, x, y, o.bptt);
        await settle(Object.values(grads));
        Object.values(grads).forEach((g) => g.dispose());
      },
      step: async () => {
        await work();
        await settle(Object.values(vars));
      },
    };
    // The trainer's step (train_loop.ts) less its device-side tally: nothing read back.
    const gradients = () => engine.stepOnDevice(vars, x, y, o.bptt);
    const optimize = async (g: Awaited<ReturnType<typeof gradients>>) => {
      const norm = await applyStepOnDevice(vars, g.grads, orth, optCfg, opt, 1e-3, 1e-4, unitary);
      tf.dispose([g.loss, norm, ...Object.values(g.grads)]);
    };
    const work = async () => await optimize(await gradients());
    const dispose = () => {
      engine.close();
      Object.values(vars).forEach((v) => v.dispose());
      [...Object.values(opt.m), ...Object.values(opt.v)].forEach((t) => t.dispose());
    };
    setups.push({
      label,
      run,
      gradients,
      optimize,
      dispose,
      times: { fwdBwd: [] as number[], step: [] as number[] },
    });
  }
  try {
    for (let i = 0; i <= o.reps; i++) {
      // Each round starts with a different model, so no model always runs first or last.
      for (let j = 0; j < setups.length; j++) {
        const s = setups[(i + j) % setups.length]!;
        for (const kind of ["fwdBwd", "step"] as const) {
          const t0 = performance.now();
          await s.run[kind]();
          if (i > 0) s.times[kind].push(performance.now() - t0); // rep 0 warms up
        }
      }
      o.onRound?.(i, o.reps + 1);
    }
    const rows: StepTimeRow[] = [];
    for (const s of setups) {
      // Counted apart: the gradients (forward and backward), then the optimizer.
      const g = await countDispatches(s.gradients);
      const op = await countDispatches(() => s.optimize(g.result));
      const count: DispatchCount = {
        kernels: g.count.kernels + op.count.kernels,
        dispatches: g.count.dispatches + op.count.dispatches,
        reads: g.count.reads + op.count.reads,
      };
      await s.run.step(); // lets the counted step's queued work finish
      const kernelMs = o.profile ? await profileStep(s.run.step) : undefined;
      rows.push({
        kernelMs,
        label: s.label,
        fwdBwdMs: median(s.times.fwdBwd),
        stepMs: median(s.times.step),
        fwdBwdSamples: s.times.fwdBwd,
        stepSamples: s.times.step,
        dispatches: count,
        optimizerDispatches: op.count.dispatches,
        byKernel: {
          ...g.byKernel,
          ...Object.fromEntries(
            Object.entries(op.byKernel).map(([k, n]) => [`optimizer ${k}`, n]),
          ),
        },
      });
    }
    return rows;
  } finally {
    setups.forEach((s) => s.dispose());
  }
}

/**
 * One call of `f` timed by kernel. Scopes that wrap other kernels (a custom gradient's
 * "forward", an op's name) are left out, so the times add up to at most the wall time.
 */
export async function profileStep(f: () => Promise<void>): Promise<Record<string, number>> {
  const info = await tf.profile(f);
  const backend = tf.getBackend();
  const ms: Record<string, number> = {};
  for (const k of info.kernels) {
    if (!tf.getKernel(k.name, backend)) continue;
    ms[k.name] = (ms[k.name] ?? 0) + (typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0);
  }
  return ms;
}

/**
 * Wait until `ts` are computed: one element of each comes back in one read. A GPU backend
 * queues work and returns at once, so a timing must wait for it; reading whole tensors
 * would time the copy to the host instead.
 */
export async function settle(ts: Tensor[]): Promise<void> {
  const probe = tf.tidy(() => tf.stack(ts.map((t) => tf.slice(tf.reshape(t, [-1]), 0, 1))));
  await probe.data();
  probe.dispose();
}

/** Median time and GFLOPS of a plain [m×k]·[k×n] matMul: the machine's roofline for a step. */
export async function timeMatMul(
  m: number,
  k: number,
  n: number,
  reps: number,
): Promise<{ ms: number; gflops: number }> {
  const a = tf.randomNormal([m, k]) as Tensor2D, b = tf.randomNormal([k, n]) as Tensor2D;
  const times: number[] = [];
  try {
    for (let i = 0; i <= reps; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await settle([c]);
      c.dispose();
      if (i > 0) times.push(performance.now() - t0); // the first call warms up
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  const ms = median(times);
  return { ms, gflops: (2 * m * k * n) / ms / 1e6 };
}

/**
 * Floating-point operations of the matrix products in one training token (forward and the
 * two backward products of each): input projection, recurrence and output layer. Elementwise
 * work, the softmax and the optimizer are left out, so GFLOPS / this bounds tokens/s.
 */
export function trainFlopsPerToken(cfg: ModelConfig): number {
  const gh = CELLS[cfg.cell].gates * cfg.hiddenSize;
  let forward = 2 * cfg.hiddenSize * cfg.vocabSize; // [1,H]·[H,V]
  for (let l = 0; l < cfg.layers; l++) {
    const inSize = l === 0 ? cfg.embedSize : cfg.hiddenSize;
    forward += 2 * inSize * gh + 2 * cfg.hiddenSize * gh; // x·W and h·U
  }
  return 3 * forward;
}

/** How much slower `a` is than `b`, in percent. */
export function overheadPercent(a: number, b: number): number {
  return (a / b - 1) * 100;
}

/**
 * Overhead of `a` over `b` from samples taken in the same rounds: the median of the per-round
 * overheads, with their quartiles. Pairing rounds cancels load that drifts between rounds.
 */
export function pairedOverhead(
  a: readonly number[],
  b: readonly number[],
): { median: number; q1: number; q3: number } {
  if (a.length !== b.length || a.length === 0) {
    throw new Error(
      `Paired samples need equal, non-zero counts, got "${a.length}" and "${b.length}"`,
    );
  }
  const per = a.map((x, i) => overheadPercent(x, b[i]!));
  return { median: median(per), q1: quantile(per, 0.25), q3: quantile(per, 0.75) };
}

/** Each orthogonal cell and the plain cell it is judged against. */
export const ORTH_PAIRS = [["urnn", "rnn"], ["ugru", "gru"]] as const;

export interface OrthOverhead {
  cell: string;
  base: string;
  median: number;
  q1: number;
  q3: number;
}

/**
 * How many times faster `fast` ran than `slow` in rounds taken together: the median of the
 * per-round ratios slow/fast, with their quartiles.
 */
export function pairedSpeedup(
  fast: readonly number[],
  slow: readonly number[],
): { median: number; q1: number; q3: number } {
  const p = pairedOverhead(slow, fast);
  return { median: 1 + p.median / 100, q1: 1 + p.q1 / 100, q3: 1 + p.q3 / 100 };
}

/** The whole step's overhead of every orthogonal cell over its plain cell, where both ran. */
export function orthOverheads(rows: readonly { label: string; stepSamples: number[] }[]) {
  const out: OrthOverhead[] = [];
  for (const [cell, base] of ORTH_PAIRS) {
    const a = rows.find((r) => r.label === cell), b = rows.find((r) => r.label === base);
    if (a && b) out.push({ cell, base, ...pairedOverhead(a.stepSamples, b.stepSamples) });
  }
  return out;
}
