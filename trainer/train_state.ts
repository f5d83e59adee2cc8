/**
 * What a training run carries from step to step and saves in its checkpoint: the counters
 * and schedule (TrainState), and the tensors (parameters, Adam's moments, hidden state).
 */
import { join } from "node:path";
import { tf } from "../shared/tf.ts";
import type { Tensor, Variable } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import { CELLS } from "../shared/cells/mod.ts";
import { disposeState, type ModelState, type Params, paramShapes } from "../shared/model.ts";
import type { OptState } from "./optimizer.ts";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import type { TrainConfig } from "./train_config.ts";
import { type FileIo, NODE_IO } from "./run_files.ts";

export interface EpochRecord {
  epoch: number;
  trainPpl: number;
  validPpl: number;
  seconds: number;
  lr: number;
}

/** Everything besides tensors that a checkpoint needs to continue exactly. */
export interface TrainState {
  epoch: number;
  /** Next window's start column within the epoch. */
  position: number;
  step: number;
  lr: number;
  lrOrth: number;
  bestValid: number;
  prng: number[];
  seconds: number;
  tokens: number;
  reorths: number;
  history: EpochRecord[];
}

export interface CheckpointHeader {
  format: "rotor-checkpoint";
  version: 1;
  model: ModelConfig;
  train: TrainConfig;
  state: TrainState;
}

export interface TrainResult {
  params: Params;
  state: TrainState;
  stopped: "done" | "time" | "steps" | "interrupted" | "dry-run";
  tokensPerSecond: number;
}

/** A loss or a parameter became non-finite: the run stops, its last checkpoint is kept. */
export class NonFiniteLoss extends Error {}

/** The orthogonal step's default learning rate: a tenth of the ordinary one. */
export const lrOrthOf = (cfg: Pick<TrainConfig, "lr" | "lrOrth">) => cfg.lrOrth || cfg.lr / 10;

/** A fresh run's state. */
export function initialState(cfg: TrainConfig, prngState: number[]): TrainState {
  return {
    epoch: 0,
    position: 0,
    step: 0,
    lr: cfg.lr,
    lrOrth: lrOrthOf(cfg),
    bestValid: Infinity,
    prng: prngState,
    seconds: 0,
    tokens: 0,
    reorths: 0,
    history: [],
  };
}

/** The hidden state's tensors under their checkpoint names. */
export function stateTensors(s: ModelState): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  s.forEach((l, i) => {
    out[`state/${i}/h`] = l.h;
    if (l.c) out[`state/${i}/c`] = l.c;
  });
  return out;
}

/**
 * The tensors a run's checkpoint must hold, by name and shape: each parameter of the model
 * config, Adam's two moments of it, and the carried hidden state of each layer.
 */
export function expectedShapes(model: ModelConfig, batch: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, shape] of Object.entries(paramShapes(model))) {
    out[`param/${k}`] = shape;
    out[`m/${k}`] = shape;
    out[`v/${k}`] = shape;
  }
  for (let i = 0; i < model.layers; i++) {
    out[`state/${i}/h`] = [batch, model.hiddenSize];
    if (CELLS[model.cell].hasCell) out[`state/${i}/c`] = [batch, model.hiddenSize];
  }
  return out;
}

/**
 * Why a checkpoint's tensors cannot be resumed, naming the file and the tensor, or undefined.
 * Adam's moments and the hidden state may be absent (restoreTensors starts them from zero).
 */
export function tensorProblem(
  path: string,
  want: Record<string, number[]>,
  got: Record<string, { shape: number[] }>,
): string | undefined {
  for (const [name, shape] of Object.entries(want)) {
    const t = got[name];
    if (!t) {
      if (!name.startsWith("param/")) continue;
      return `Checkpoint "${path}" lacks tensor "${name}" that its model config needs`;
    }
    if (t.shape.join(",") !== shape.join(",")) {
      return `Checkpoint "${path}" has tensor "${name}" of shape [${t.shape.join(", ")}], ` +
        `its model config wants [${shape.join(", ")}]`;
    }
  }
  const extra = Object.keys(got).find((k) => !(k in want));
  return extra ? `Checkpoint "${path}" holds tensor "${extra}" its model config lacks` : undefined;
}

/** The first tensor holding NaN or ±Infinity, by name (one read for all of them). */
export async function firstNonFinite(tensors: Record<string, Tensor>): Promise<string | undefined> {
  const names = Object.keys(tensors).filter((k) => tensors[k]!.dtype === "float32");
  if (names.length === 0) return undefined;
  const finite = tf.tidy(() =>
    tf.stack(names.map((k) => tf.all(tf.isFinite(tensors[k]!)))).cast("int32")
  );
  const flags = await finite.data();
  finite.dispose();
  return names.find((_, i) => flags[i] !== 1);
}

/**
 * A run's checkpoint, checked before anything resumes from it: format, every tensor's shape
 * against the model config, and finite values. A run never saves non-finite parameters
 * (saveCheckpoint refuses them), so NaN here means the file was damaged, not the learning rate.
 */
export async function loadResume(dir: string) {
  const path = join(dir, "checkpoint.bin");
  const ck = await readCheckpoint<CheckpointHeader>(path);
  if (ck.header.format !== "rotor-checkpoint" || ck.header.version !== 1) {
    throw new Error(`Checkpoint "${path}" has an unknown checkpoint format or version`);
  }
  const problem = tensorProblem(
    path,
    expectedShapes(ck.header.model, ck.header.train.batch),
    ck.tensors,
  );
  const bad = problem ? undefined : await firstNonFinite(ck.tensors);
  if (problem || bad) {
    tf.dispose(Object.values(ck.tensors));
    throw new Error(
      problem ??
        `Checkpoint "${path}" holds NaN or infinite values in "${bad}": the file is damaged ` +
          "(training never saves non-finite weights, so a lower --lr will not help); resume " +
          "from a copy saved before, or start the run again",
    );
  }
  return ck;
}

/** The best-so-far parameters (by validation perplexity), for the final model folder. */
export async function saveBest(
  vars: Record<string, Variable>,
  dir: string,
  io: FileIo = NODE_IO,
): Promise<void> {
  const path = join(dir, "best.bin");
  await writeCheckpoint(path, { header: { format: "rotor-best" }, tensors: { ...vars } }, {
    io,
    kept: `"${path}" keeps the best parameters saved before; the run stops here`,
  });
}

/**
 * Write checkpoint.bin: parameters, Adam's moments, the hidden state (disposed here) and the
 * counters. Non-finite weights are refused, so a blow-up never replaces the last good one.
 */
export async function saveCheckpoint(dir: string, r: {
  model: ModelConfig;
  cfg: TrainConfig;
  st: TrainState;
  vars: Record<string, Variable>;
  opt: OptState;
  hidden: ModelState;
  io?: FileIo;
}): Promise<void> {
  const finite = tf.tidy(() =>
    tf.stack(Object.values(r.vars).map((v) => tf.all(tf.isFinite(v)))).cast("int32")
  );
  const flags = await finite.data(); // one read for every parameter
  finite.dispose();
  const bad = Object.keys(r.vars).find((_, i) => flags[i] !== 1);
  if (bad) {
    disposeState(r.hidden);
    throw new NonFiniteLoss(
      `Parameter "${bad}" became non-finite after step ${r.st.step}; stopping. The last good ` +
        `checkpoint in "${dir}" is kept: resume it with a lower --lr or a tighter --clip`,
    );
  }
  const tensors: Record<string, Tensor> = { ...stateTensors(r.hidden) };
  for (const [k, v] of Object.entries(r.vars)) tensors[`param/${k}`] = v;
  for (const [k, v] of Object.entries(r.opt.m)) tensors[`m/${k}`] = v;
  for (const [k, v] of Object.entries(r.opt.v)) tensors[`v/${k}`] = v;
  const header: CheckpointHeader = {
    format: "rotor-checkpoint",
    version: 1,
    model: r.model,
    train: r.cfg,
    state: r.st,
  };
  const path = join(dir, "checkpoint.bin");
  try {
    await writeCheckpoint(path, { header, tensors }, {
      io: r.io ?? NODE_IO,
      kept: `"${path}" keeps the last good checkpoint; free space or make the folder ` +
        `writable, then continue with: deno task train --resume ${dir}`,
    });
  } finally {
    disposeState(r.hidden);
  }
}
