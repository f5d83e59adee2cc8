/**
 * What a training run carries from step to step and saves in its checkpoint: the counters
 * and schedule (TrainState), and the tensors (parameters, Adam's moments, hidden state).
 */
import { join } from "node:path";
import type { Tensor, Variable } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import type { ModelState, Params } from "../shared/model.ts";
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
