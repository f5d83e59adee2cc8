/**
 * The context-perturbation measurement: for each sampled target, the loss of predicting it
 * from its L-token history as it is, and with the history farther than d shuffled or replaced.
 * Every window runs from a zero state; windows are rows of one [rows, L] forward pass.
 */
import { tf } from "../../shared/tf.ts";
import type { Tensor1D, Tensor2D } from "../../shared/tf.ts";
import type { ModelConfig } from "../../shared/config.ts";
import { forwardHidden, outputMatrix, type Params, zeroState } from "../../shared/model.ts";
import { projectedNll } from "../../shared/perplexity.ts";
import {
  effectiveContext,
  type Perturbation,
  PERTURBATIONS,
  replaceFar,
  shuffleFar,
  windowPrng,
} from "./context_perturb.ts";

/**
 * −log p(target | window) for each row of `windows` [rows·L] (row-major), from a zero state,
 * `block` rows per forward pass so memory stays bounded whatever the number of rows.
 */
export function windowLosses(
  params: Params,
  cfg: ModelConfig,
  windows: Int32Array,
  targets: Int32Array,
  history: number,
  block: number,
): Float32Array {
  const rows = targets.length;
  if (windows.length !== rows * history) {
    throw new Error(`${windows.length} window tokens for ${rows} rows of ${history}`);
  }
  const out = new Float32Array(rows);
  const outW = tf.keep(outputMatrix(params, cfg)); // [H,V], built once for every block
  try {
    for (let r = 0; r < rows; r += block) {
      const k = Math.min(block, rows - r);
      const { h, y } = tf.tidy(() => {
        const x = tf.tensor2d(
          windows.subarray(r * history, (r + k) * history),
          [k, history],
          "int32",
        );
        const { state } = forwardHidden(params, cfg, x, zeroState(cfg, k));
        // The top layer's final state is its output at the last position: [k, H].
        return { h: state.at(-1)!.h, y: tf.tensor1d(targets.subarray(r, r + k), "int32") };
      });
      out.set(projectedNll(h as Tensor2D, y as Tensor1D, outW, params["output/b"] as Tensor1D), r);
      tf.dispose([h, y]);
    }
  } finally {
    if (cfg.tieWeights) outW.dispose();
  }
  return out;
}

export interface ContextOptions {
  /** Target positions in `stream` (each ≥ history). */
  targets: readonly number[];
  history: number;
  /** Ascending distances d. */
  distances: readonly number[];
  seed: number;
  /** Rows per forward pass. */
  block: number;
  /** Relative loss increase below which a perturbation counts as unused context. */
  threshold: number;
  /** Called after each block with windows done and in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface DistanceRow {
  d: number;
  /** Mean loss of the perturbed windows (nats). */
  loss: number;
  /** Mean increase over the unperturbed loss (nats), and its standard error. */
  increase: number;
  stderr: number;
  /** increase / unperturbed loss. */
  relIncrease: number;
}

export interface ContextMeasurement {
  targets: number;
  /** Mean unperturbed loss (nats) and its exp. */
  loss: number;
  perplexity: number;
  perturbations: Record<Perturbation, { effectiveContext: number | null; rows: DistanceRow[] }>;
  windows: number;
}

/** One window to score: the target's index, and its perturbation (none for the baseline). */
interface Job {
  i: number;
  perturb?: { kind: Perturbation; k: number };
}

function buildWindow(stream: Int32Array, pos: number, job: Job, o: ContextOptions): Int32Array {
  const window = stream.subarray(pos - o.history, pos);
  if (!job.perturb) return window;
  const { kind, k } = job.perturb;
  const d = o.distances[k]!;
  const prng = windowPrng(o.seed, pos, d, kind);
  return kind === "shuffle"
    ? shuffleFar(window, d, prng)
    : replaceFar(window, d, stream, [pos - o.history, pos + 1], prng);
}

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

/** Mean, standard error and relative size of the paired increases `perturbed − base`. */
function distanceRow(d: number, base: Float32Array, perturbed: Float32Array): DistanceRow {
  const n = base.length;
  const diff = Array.from(perturbed, (v, i) => v - base[i]!);
  const m = mean(diff);
  const variance = n > 1 ? diff.reduce((s, v) => s + (v - m) ** 2, 0) / (n - 1) : 0;
  return {
    d,
    loss: mean(perturbed),
    increase: m,
    stderr: Math.sqrt(variance / n),
    relIncrease: m / mean(base),
  };
}

/** Measure how much the model's loss on `stream`'s targets depends on context farther than d. */
export function measureContext(
  params: Params,
  cfg: ModelConfig,
  stream: Int32Array,
  o: ContextOptions,
): ContextMeasurement {
  const n = o.targets.length;
  const jobs: Job[] = [];
  for (let i = 0; i < n; i++) {
    jobs.push({ i });
    for (const kind of PERTURBATIONS) {
      o.distances.forEach((_, k) => jobs.push({ i, perturb: { kind, k } }));
    }
  }
  const base = new Float32Array(n);
  const losses = Object.fromEntries(
    PERTURBATIONS.map((k) => [k, o.distances.map(() => new Float32Array(n))]),
  ) as Record<Perturbation, Float32Array[]>;
  const L = o.history;
  for (let j = 0; j < jobs.length; j += o.block) {
    const part = jobs.slice(j, j + o.block);
    const windows = new Int32Array(part.length * L);
    const targets = new Int32Array(part.length);
    part.forEach((job, r) => {
      const pos = o.targets[job.i]!;
      windows.set(buildWindow(stream, pos, job, o), r * L);
      targets[r] = stream[pos]!;
    });
    const values = windowLosses(params, cfg, windows, targets, L, o.block);
    part.forEach((job, r) => {
      if (job.perturb) losses[job.perturb.kind][job.perturb.k]![job.i] = values[r]!;
      else base[job.i] = values[r]!;
    });
    o.onProgress?.(Math.min(j + o.block, jobs.length), jobs.length);
  }
  const loss = mean(base);
  const perturbations = Object.fromEntries(PERTURBATIONS.map((kind) => {
    const rows = o.distances.map((d, k) => distanceRow(d, base, losses[kind][k]!));
    return [kind, {
      effectiveContext: effectiveContext(o.distances, rows.map((r) => r.relIncrease), o.threshold),
      rows,
    }];
  })) as ContextMeasurement["perturbations"];
  return { targets: n, loss, perplexity: Math.exp(loss), perturbations, windows: jobs.length };
}
