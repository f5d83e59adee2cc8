/**
 * What a training run carries from step to step and saves in its checkpoint: the counters
 * and schedule (TrainState), and the tensors (parameters, Adam's moments, hidden state).
 */
import { join } from "node:path";
import { tf } from "../shared/tf.ts";
import type { Tensor, Variable } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import { disposeState, type ModelState, type Params } from "../shared/model.ts";
import type { OptState } from "./optimizer.ts";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import type { TrainConfig } from "./train_config.ts";

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

export async function loadResume(dir: string) {
  const ck = await readCheckpoint<CheckpointHeader>(join(dir, "checkpoint.bin"));
  if (ck.header.format !== "rotor-checkpoint" || ck.header.version !== 1) {
    throw new Error(`"${dir}/checkpoint.bin" has an unknown checkpoint format or version`);
  }
  return ck;
}

/** The best-so-far parameters (by validation perplexity), for the final model folder. */
export async function saveBest(vars: Record<string, Variable>, dir: string): Promise<void> {
  await writeCheckpoint(join(dir, "best.bin"), {
    header: { format: "rotor-best" },
    tensors: { ...vars },
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
  await writeCheckpoint(join(dir, "checkpoint.bin"), { header, tensors });
  disposeState(r.hidden);
}
