/**
 * The toy-task model: one-hot tokens (or real-valued channels) → one recurrent cell → a linear
 * read-out of the final hidden state (copy: of every step's hidden state), or with
 * `readout: "mlp"` one ReLU layer before it. An orthogonal recurrence can hold a memory (counts,
 * presence) without loss but cannot also compute on it — W keeps norms — so tasks whose answer is
 * a non-linear function of what was seen (k-th highest) get that layer to compute in.
 *
 * The one-hot input times the cell's input matrix W is an embedding lookup, so no separate
 * embedding table is needed. Sequences run time-major as in shared/model.ts: one batched input
 * projection for all steps, then the cell's recurrence step by step.
 */
import { z } from "zod";
import { tf } from "../../shared/tf.ts";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "../../shared/tf.ts";
import { ACTIVATIONS } from "../../shared/activations.ts";
import { CELL_KINDS } from "../../shared/config.ts";
import {
  type CellOptions,
  type CellParams,
  CELLS,
  type CellState,
  defaultRecurrentInit,
  isOrthogonal,
} from "../../shared/cells/mod.ts";
import { type RecurrenceKind, unrollLayer } from "../../shared/recurrence/mod.ts";
import { RECURRENT_INITS, uniform } from "../../shared/orthogonal_init.ts";
import { matMul, softmaxCrossEntropy } from "../../shared/ops.ts";
import type { Prng } from "../../shared/prng.ts";
import type { TaskShape } from "./tasks.ts";
import type { Batch } from "./data.ts";

export const ToyModelConfigSchema = z.object({
  cell: z.enum(CELL_KINDS),
  activation: z.enum(ACTIVATIONS).default("tanh"),
  leakySlope: z.number().min(0).max(1).default(0.01),
  hidden: z.number().int().min(1),
  recurrentInit: z.enum(RECURRENT_INITS).optional(),
  inSize: z.number().int().min(1),
  input: z.enum(["ids", "values"]),
  outSize: z.number().int().min(1),
  everyStep: z.boolean(),
  /** linear: outputs = h·W + b; mlp: one ReLU layer of `readoutHidden` units first. */
  readout: z.enum(["linear", "mlp"]).default("linear"),
  readoutHidden: z.number().int().min(1).optional(),
}).strict();

export type ToyModelConfig = z.infer<typeof ToyModelConfigSchema>;
export type ToyParams = Record<string, Tensor>;

export function toyModelConfig(
  m: { cell: ToyModelConfig["cell"]; activation: ToyModelConfig["activation"]; leakySlope: number },
  hidden: number,
  shape: TaskShape,
  recurrentInit?: ToyModelConfig["recurrentInit"],
  readout: { readout: ToyModelConfig["readout"]; readoutHidden?: number } = { readout: "linear" },
): ToyModelConfig {
  return ToyModelConfigSchema.parse({
    cell: m.cell,
    activation: m.activation,
    leakySlope: m.leakySlope,
    hidden,
    ...(recurrentInit ? { recurrentInit } : {}),
    inSize: shape.inSize,
    input: shape.input,
    outSize: shape.outSize,
    everyStep: shape.everyStep,
    ...(readout.readout === "mlp"
      ? { readout: "mlp", readoutHidden: readout.readoutHidden || hidden }
      : {}),
  });
}

export function toyCellOptions(m: ToyModelConfig): CellOptions {
  const init = m.recurrentInit ?? defaultRecurrentInit(m.cell);
  if (isOrthogonal(m.cell) && init === "uniform") {
    throw new Error(`Cell "${m.cell}" needs an orthogonal recurrent init, got "uniform"`);
  }
  return {
    inSize: m.inSize,
    hidden: m.hidden,
    activation: m.activation,
    leakySlope: m.leakySlope,
    recurrentInit: init,
  };
}

/** Parameter shapes by name: "cell/W", "cell/U", …, "out/W", "out/b". */
export function toyParamShapes(m: ToyModelConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const [k, s] of Object.entries(CELLS[m.cell].shapes(toyCellOptions(m)))) {
    shapes[`cell/${k}`] = s;
  }
  const r = readoutWidth(m);
  if (m.readout === "mlp") (shapes["out/W1"] = [m.hidden, r], shapes["out/b1"] = [r]);
  shapes["out/W"] = [r, m.outSize];
  shapes["out/b"] = [m.outSize];
  return shapes;
}

/** Width of the layer the output matrix reads: the hidden state, or the MLP's ReLU layer. */
function readoutWidth(m: ToyModelConfig): number {
  return m.readout === "mlp" ? m.readoutHidden ?? m.hidden : m.hidden;
}

/** Names of the parameters the optimizer keeps orthogonal. */
export function toyOrthogonal(m: ToyModelConfig): string[] {
  return CELLS[m.cell].orthogonal.map((k) => `cell/${k}`);
}

/** Names of the complex parameters the optimizer keeps unitary. */
export function toyUnitary(m: ToyModelConfig): string[] {
  return CELLS[m.cell].unitary.map((k) => `cell/${k}`);
}

/** Fresh parameters drawn from `prng`. */
export function initToyParams(m: ToyModelConfig, prng: Prng): ToyParams {
  const o = toyCellOptions(m);
  const params: ToyParams = {};
  for (const [name, shape] of Object.entries(toyParamShapes(m))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = name.startsWith("cell/")
      ? CELLS[m.cell].init(name.slice(5), shape, o, prng)
      : name === "out/W" || name === "out/W1"
      ? uniform(size, 1 / Math.sqrt(shape[0]!), prng)
      : new Float32Array(size);
    params[name] = tf.tensor(values, shape, "float32");
  }
  return params;
}

function cellParams(params: ToyParams): CellParams {
  const p: CellParams = {};
  for (const [k, v] of Object.entries(params)) {
    if (k.startsWith("cell/")) p[k.slice(5)] = v as Tensor2D;
  }
  return p;
}

/**
 * Outputs for a batch: [B, O] from the final state, or time-major [T·B, O] (everyStep).
 * `recurrence` chooses the unroll (shared/recurrence/mod.ts).
 */
export function toyForward(
  params: ToyParams,
  m: ToyModelConfig,
  batch: Batch,
  recurrence: RecurrenceKind = "composed",
): Tensor2D {
  const { size: B, steps: T } = batch;
  const cell = CELLS[m.cell];
  const o = toyCellOptions(m);
  const p = cellParams(params);
  const x = m.input === "ids"
    ? tf.oneHot(tf.tensor1d(batch.x as Int32Array, "int32"), m.inSize).toFloat() as Tensor2D // [T·B,V]
    : tf.tensor2d(batch.x as Float32Array, [T * B, m.inSize]); // [T·B,C]
  const prep = cell.prepare(p);
  const xw = tf.reshape(cell.project(p, x), [T, B, cell.gates * m.hidden]) as Tensor3D; // [T,B,gH]
  const zero: CellState = {
    h: tf.zeros([B, m.hidden]) as Tensor2D,
    ...(cell.hasCell ? { c: tf.zeros([B, m.hidden]) as Tensor2D } : {}),
  };
  const { hs, state: s } = unrollLayer(recurrence, cell, p, prep, o, xw, zero); // [T,B,H]
  let h = m.everyStep ? tf.reshape(hs, [T * B, m.hidden]) as Tensor2D : s.h; // [T·B,H] or [B,H]
  if (m.readout === "mlp") {
    h = tf.relu(tf.add(matMul(h, params["out/W1"] as Tensor2D), params["out/b1"]!)) as Tensor2D;
  }
  return tf.add(matMul(h, params["out/W"] as Tensor2D), params["out/b"]!) as Tensor2D; // ·[H,O]
}

/** The training loss of outputs against the batch's answers: cross-entropy or squared error. */
export function toyLoss(m: ToyModelConfig, out: Tensor2D, batch: Batch): Tensor {
  if (m.outSize === 1 && batch.y instanceof Float32Array) {
    const y = tf.tensor2d(batch.y, [batch.y.length, 1]);
    return tf.mean(tf.square(tf.sub(out, y)));
  }
  return softmaxCrossEntropy(out, tf.tensor1d(batch.y as Int32Array, "int32") as Tensor1D);
}

/** Sums over a batch, for exact means over a held-out set: loss, correct answers and their count. */
export interface Tally {
  loss: number;
  correct: number;
  n: number;
  /** copy: correct answers among the recalled symbols (the last 10 steps) only. */
  recallCorrect: number;
  recallN: number;
}

export function emptyTally(): Tally {
  return { loss: 0, correct: 0, n: 0, recallCorrect: 0, recallN: 0 };
}

/** Add a batch's outputs to `t` (no gradient). `recallSteps` marks copy's answer stretch. */
export async function tally(
  t: Tally,
  out: Tensor2D,
  batch: Batch,
  recallSteps = 0,
): Promise<void> {
  const n = out.shape[0];
  if (batch.y instanceof Float32Array) {
    const o = await out.data();
    for (let i = 0; i < n; i++) t.loss += (o[i]! - batch.y[i]!) ** 2;
    t.n += n;
    return;
  }
  const y = batch.y;
  // −log p and the predicted class side by side [2,N], read in one go (class ids are exact
  // in float32).
  const both = tf.tidy(() => {
    const lse = tf.logSumExp(out, 1); // [N]
    const picked = tf.sum(tf.mul(out, tf.oneHot(tf.tensor1d(y, "int32"), out.shape[1])), 1);
    return tf.stack([tf.sub(lse, picked), tf.cast(tf.argMax(out, 1), "float32")]);
  });
  const values = await both.data();
  both.dispose();
  const firstRecall = n - recallSteps * batch.size;
  for (let i = 0; i < n; i++) {
    t.loss += values[i]!;
    const ok = values[n + i] === y[i] ? 1 : 0;
    t.correct += ok;
    if (i >= firstRecall) (t.recallCorrect += ok, t.recallN++);
  }
  t.n += n;
}
