/** What the training loop's steps share: its options and one run's working set. */
import type { Tensor, Variable } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import type { Params } from "../shared/model.ts";
import type { batchify } from "../shared/ptb.ts";
import type { Prng } from "../shared/prng.ts";
import type { GradEngine } from "./grad_pool.ts";
import type { OptState } from "./optimizer.ts";
import type { Corpus } from "./corpus.ts";
import type { TrainConfig } from "./train_config.ts";
import type { DeviceTally, Tally } from "./train_tally.ts";
import type { FileIo } from "./run_files.ts";
import type { TrainState } from "./train_state.ts";

export interface LoopOptions {
  cfg: TrainConfig;
  model: ModelConfig;
  corpus: Corpus;
  dir: string;
  /** Initial parameters (fresh, or from a checkpoint). */
  params: Params;
  resume?: { state: TrainState; tensors: Record<string, Tensor> };
  /** Set by the caller (e.g. on SIGINT) to stop at the next batch boundary with a checkpoint. */
  stopRequested: () => boolean;
  /** The file system the run's files are written through (a test makes it fail). */
  io?: FileIo;
}

/** One run's working set: what every named step below reads and updates. */
export interface Run {
  o: LoopOptions;
  vars: Record<string, Variable>;
  orth: Set<string>;
  /** The complex matrices kept unitary (drift max|WᴴW − I|, reported with the orthogonal). */
  unitary: Set<string>;
  opt: OptState;
  st: TrainState;
  prng: Prng;
  batches: ReturnType<typeof batchify>;
  engine: GradEngine;
  tally: Tally;
  /** The loss and gradient norms since the last read, on the device (see readTally). */
  device: DeviceTally;
  log: (rec: Record<string, unknown>) => Promise<void>;
  totalSteps: number;
  /** performance.now() at the run's start, moved back by the seconds of earlier sessions. */
  t0: number;
  runStart: number;
  runTokens: number;
  lastCkpt: number;
}
