/**
 * Time per training batch of several models, measured the way `bench:step` does: the models
 * take turns (round-robin) within one process and each reports its median, so a change in
 * the machine's load during the measurement hits every model alike.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import { forwardLoss, initParams, orthogonalParams, zeroState } from "../shared/model.ts";
import { applyStep, initOptState } from "./optimizer.ts";

export interface StepTimeRow {
  label: string;
  /** Median ms of forward + backward alone. */
  fwdBwdMs: number;
  /** Median ms of the whole step: gradients, clipping, Adam and the orthogonal step. */
  stepMs: number;
  /** Every repetition's ms, in order; repetition i of every model ran in the same round. */
  fwdBwdSamples: number[];
  stepSamples: number[];
}

/** The q-quantile (nearest rank) of xs. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new Error("Cannot take a quantile of no values");
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
const median = (xs: readonly number[]) => quantile(xs, 0.5);

/** Round-robin timing of one training step per model on random tokens [batch, bptt]. */
export function timeSteps(
  models: { label: string; cfg: ModelConfig }[],
  o: { batch: number; bptt: number; reps: number; seed: number },
): StepTimeRow[] {
  const setups = models.map(({ label, cfg }, i) => {
    const vars: Record<string, Variable> = {};
    for (const [k, v] of Object.entries(initParams(cfg, o.seed))) {
      vars[k] = tf.variable(v, true, `step-time/${i}/${k}`);
      v.dispose();
    }
    const x = tf.randomUniformInt([o.batch, o.bptt], 0, cfg.vocabSize, o.seed) as Tensor2D;
    const y = tf.randomUniformInt([o.batch, o.bptt], 0, cfg.vocabSize, o.seed + 1);
    const grads = () => {
      const { grads } = tf.variableGrads(
        () => forwardLoss(vars, cfg, x, y as Tensor2D, zeroState(cfg, o.batch)).loss as tf.Scalar,
        Object.values(vars),
      );
      const byName: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(vars)) byName[k] = grads[v.name]!;
      return byName;
    };
    const opt = initOptState();
    const orth = new Set(orthogonalParams(cfg));
    const optCfg = {
      kind: "adam" as const,
      orthKind: "adam" as const,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      clip: 1,
    };
    const run = {
      fwdBwd: () => tf.tidy(() => Object.values(grads()).forEach((g) => g.dataSync())),
      step: () =>
        tf.tidy(() =>
          void (applyStep(vars, grads(), orth, optCfg, opt, 1e-3, 1e-4), vars.embedding!.dataSync())
        ),
    };
    const dispose = () => {
      Object.values(vars).forEach((v) => v.dispose());
      [...Object.values(opt.m), ...Object.values(opt.v), x, y].forEach((t) => t.dispose());
    };
    return { label, run, dispose, times: { fwdBwd: [] as number[], step: [] as number[] } };
  });
  try {
    for (let i = 0; i <= o.reps; i++) {
      // Each round starts with a different model, so no model always runs first or last.
      for (let j = 0; j < setups.length; j++) {
        const s = setups[(i + j) % setups.length]!;
        for (const kind of ["fwdBwd", "step"] as const) {
          const t0 = performance.now();
          s.run[kind]();
          if (i > 0) s.times[kind].push(performance.now() - t0); // rep 0 warms up
        }
      }
    }
    return setups.map((s) => ({
      label: s.label,
      fwdBwdMs: median(s.times.fwdBwd),
      stepMs: median(s.times.step),
      fwdBwdSamples: s.times.fwdBwd,
      stepSamples: s.times.step,
    }));
  } finally {
    setups.forEach((s) => s.dispose());
  }
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
