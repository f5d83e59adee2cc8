/**
 * One toy run: train on fresh batches with rotor's optimizer (orthogonal parameters by the
 * Lie-group step of trainer/optimizer.ts), then evaluate on the fixed held-out set.
 */
import type { RecurrenceKind } from "../../shared/recurrence/mod.ts";
import { tf } from "../../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../../shared/tf.ts";
import { createPrng } from "../../shared/prng.ts";
import { applyStep, initOptState, type OptimizerConfig } from "../../trainer/optimizer.ts";
import { orthogonalityDrifts, reorthogonalize } from "../../trainer/orthogonal.ts";
import { reunitarize, unitarityDrifts } from "../../trainer/unitary.ts";
import { formatDuration, progressLine } from "../../trainer/progress.ts";
import type { ToyFlags } from "./flags.ts";
import {
  COPY_SYMBOLS,
  type Example,
  parseTaskConfig,
  type TaskConfig,
  taskShape,
} from "./tasks.ts";
import { heldOutSet, majorityShare, toBatch, trainingStream } from "./data.ts";
import {
  emptyTally,
  initToyParams,
  type Tally,
  tally,
  toyForward,
  toyLoss,
  type ToyModelConfig,
  toyModelConfig,
  toyOrthogonal,
  type ToyParams,
  toyUnitary,
} from "./model.ts";

/** Held-out (or training-window) scores; which ones apply depends on the task. */
export interface ToyMetrics {
  /** first, kth: share of correct answers; copy: share of correct outputs at every step. */
  accuracy?: number;
  /** Mean cross-entropy per answer (first, kth, copy: per output step). */
  crossEntropy?: number;
  /** copy: share of the 10 recalled symbols that are correct. */
  recallAccuracy?: number;
  /** adding: mean squared error. */
  mse?: number;
}

export interface ToyBaseline {
  /** first: 1/K. */
  chance?: number;
  /** first, kth: share of the held-out set's most common answer. */
  majority?: number;
  /** copy: 10·log(8)/(T+20), the cross-entropy of guessing the symbols uniformly. */
  crossEntropy?: number;
  /** adding: 1/6 ≈ 0.167, the MSE of always answering 1. */
  mse?: number;
}

export interface CurvePoint extends ToyMetrics {
  step: number;
  seconds: number;
}

export interface ToyResult {
  task: TaskConfig;
  model: ToyModelConfig;
  train: {
    steps: number;
    batch: number;
    optimizer: string;
    orthOptimizer: string;
    lr: number;
    lrOrth: number;
    clip: number;
    seed: number;
  };
  heldOut: number;
  metrics: ToyMetrics;
  baseline: ToyBaseline;
  /** Metrics on the fresh (never seen) training batches, averaged over each logging window. */
  curve: CurvePoint[];
  trainSeconds: number;
  evalSeconds: number;
  reorths: number;
  backend: string;
  /**
   * Set when the training loss became NaN or infinite: training stopped there (the update of
   * that step was not applied) and the held-out metrics are those of the model at that point.
   * A sweep reports such a run as diverged instead of losing the rest of the grid to it.
   */
  diverged?: { step: number; loss: string };
}

function metricsOf(t: Tally, c: TaskConfig): ToyMetrics {
  if (c.task === "adding") return { mse: t.loss / t.n };
  const m: ToyMetrics = { accuracy: t.correct / t.n, crossEntropy: t.loss / t.n };
  if (c.task === "copy") m.recallAccuracy = t.recallCorrect / t.recallN;
  return m;
}

export function baselineOf(c: TaskConfig, heldOut: readonly Example[]): ToyBaseline {
  switch (c.task) {
    case "first":
      return { chance: 1 / c.classes, majority: majorityShare(heldOut).share };
    case "kth":
      return { majority: majorityShare(heldOut).share };
    case "copy":
      return { crossEntropy: (COPY_SYMBOLS * Math.log(8)) / (c.length + 2 * COPY_SYMBOLS) };
    case "adding":
      return { mse: 1 / 6 };
  }
}

/** Scores of `params` on `examples`, in batches of `evalBatch`. */
export async function evaluateToy(
  params: ToyParams,
  m: ToyModelConfig,
  c: TaskConfig,
  examples: readonly Example[],
  evalBatch: number,
  recurrence: RecurrenceKind = "composed",
): Promise<ToyMetrics> {
  const t = emptyTally();
  const recall = c.task === "copy" ? COPY_SYMBOLS : 0;
  for (let i = 0; i < examples.length; i += evalBatch) {
    const batch = toBatch(c, examples.slice(i, i + evalBatch));
    const out = tf.tidy(() => toyForward(params, m, batch, recurrence));
    try {
      await tally(t, out, batch, recall);
    } finally {
      out.dispose();
    }
  }
  return metricsOf(t, c);
}

let variableSerial = 0;

function describe(x: ToyMetrics): string {
  const parts: string[] = [];
  // A saved diverged run holds null where JSON could not keep NaN.
  const n = (v: number | undefined | null, f: (v: number) => string) =>
    typeof v === "number" ? f(v) : v === null ? "NaN" : undefined;
  const add = (s: string | undefined) => s && parts.push(s);
  add(n(x.accuracy, (v) => `acc ${(100 * v).toFixed(2)}%`));
  add(n(x.recallAccuracy, (v) => `recall ${(100 * v).toFixed(2)}%`));
  add(n(x.crossEntropy, (v) => `CE ${v.toFixed(4)}`));
  add(n(x.mse, (v) => `MSE ${v.toFixed(4)}`));
  return parts.join(" | ");
}
export { describe as describeMetrics };

export interface RunOptions {
  /** Prefix of progress lines. */
  label?: string;
  /** Re-orthogonalise when max|WᵀW−I| exceeds this (checked every 50 steps). */
  orthTol?: number;
}

/** Train one model on `f`'s task and evaluate it on the held-out set. */
export async function runToy(f: ToyFlags, o: RunOptions = {}): Promise<ToyResult> {
  const task = parseTaskConfig({
    task: f.task,
    length: f.length,
    classes: f.classes,
    maxValue: f.maxValue,
    rank: f.rank,
  });
  const shape = taskShape(task);
  const model = toyModelConfig(f, f.hidden, shape, f.recurrentInit, f);
  const label = o.label ?? `${task.task} L=${task.length} ${model.cell}`;
  const orth = new Set(toyOrthogonal(model));
  const unitary = new Set(toyUnitary(model));
  const init = initToyParams(model, createPrng(f.seed));
  const vars: Record<string, Variable> = {};
  for (const [k, v] of Object.entries(init)) {
    vars[k] = tf.variable(v, true, `toy/${k}#${variableSerial++}`);
    v.dispose();
  }
  const params = () => vars as unknown as ToyParams;
  const opt = initOptState();
  const optCfg: OptimizerConfig = {
    kind: f.optimizer,
    orthKind: f.orthOptimizer,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    clip: f.clip,
  };
  const lrOrth = f.lrOrth || f.lr;
  const next = trainingStream(task, f.seed);
  const recall = task.task === "copy" ? COPY_SYMBOLS : 0;
  const curve: CurvePoint[] = [];
  let window = emptyTally(), reorths = 0;
  let diverged: ToyResult["diverged"];
  const start = performance.now();
  for (let step = 1; step <= f.steps; step++) {
    const batch = next(f.batch);
    let out: Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      out = tf.keep(toyForward(params(), model, batch, f.recurrence));
      return toyLoss(model, out, batch) as tf.Scalar;
    }, Object.values(vars));
    const loss = (await value.data())[0]!;
    value.dispose();
    if (Number.isFinite(loss)) {
      // variableGrads keys gradients by the variables' own (unique) names.
      const byParam: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(vars)) if (grads[v.name]) byParam[k] = grads[v.name]!;
      await applyStep(vars, byParam, orth, optCfg, opt, f.lr, lrOrth, unitary);
      // The batch was fresh, so its outputs before this update score unseen data.
      await tally(window, out!, batch, recall);
    }
    tf.dispose([out!, ...Object.values(grads)]);
    if (!Number.isFinite(loss)) {
      diverged = { step, loss: String(loss) };
      progressLine(
        `${label} | loss became ${loss} at step ${step}: diverged, training stopped ` +
          "(try a lower --lr or a tighter --clip)",
        true,
      );
      break;
    }
    if (orth.size + unitary.size > 0 && step % 50 === 0) {
      const names = [...orth, ...unitary];
      const matrices = names.map((n) => vars[n] as unknown as Tensor2D);
      const drifts = [
        ...await orthogonalityDrifts(matrices.slice(0, orth.size)),
        ...await unitarityDrifts(matrices.slice(orth.size)),
      ];
      for (const [i, name] of names.entries()) {
        const v = vars[name] as unknown as Tensor2D;
        if (drifts[i]! > (o.orthTol ?? 5e-6)) {
          const fixed = unitary.has(name) ? reunitarize(v) : reorthogonalize(v);
          vars[name]!.assign(fixed);
          fixed.dispose();
          reorths++;
        }
      }
    }
    if (step % f.logEvery === 0 || step === f.steps) {
      const seconds = (performance.now() - start) / 1000;
      const point = { step, seconds, ...metricsOf(window, task) };
      curve.push(point);
      window = emptyTally();
      const eta = (seconds / step) * (f.steps - step);
      progressLine(
        `${label} | step ${step}/${f.steps} | ${describe(point)} | ${
          (step / seconds).toFixed(1)
        } steps/s | ETA ${formatDuration(eta)}`,
      );
    }
  }
  const trainSeconds = (performance.now() - start) / 1000;
  const evalStart = performance.now();
  const heldOut = heldOutSet(task, f.seed, f.heldOut);
  const metrics = await evaluateToy(params(), model, task, heldOut, f.evalBatch, f.recurrence);
  const evalSeconds = (performance.now() - evalStart) / 1000;
  progressLine(
    `${label} | held-out (${f.heldOut}): ${describe(metrics)} | train ${
      formatDuration(trainSeconds)
    }, eval ${formatDuration(evalSeconds)}`,
    true,
  );
  for (const v of Object.values(vars)) v.dispose();
  for (const t of [...Object.values(opt.m), ...Object.values(opt.v)]) t.dispose();
  return {
    task,
    model,
    train: {
      steps: f.steps,
      batch: f.batch,
      optimizer: f.optimizer,
      orthOptimizer: f.orthOptimizer,
      lr: f.lr,
      lrOrth,
      clip: f.clip,
      seed: f.seed,
    },
    heldOut: f.heldOut,
    metrics,
    baseline: baselineOf(task, heldOut),
    curve,
    trainSeconds,
    evalSeconds,
    reorths,
    backend: tf.getBackend(),
    ...(diverged ? { diverged } : {}),
  };
}
