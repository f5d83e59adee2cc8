/**
 * The language model: embedding [V,E] → stacked recurrent cells → (dropout) → output
 * projection [H,V], optionally tied to the embedding (Press & Wolf 2017; Inan et al. 2017).
 *
 * Tensors run time-major inside: a batch of tokens [B,T] becomes rows t·B + b, so each time
 * step is a contiguous [B,·] slice and the input projection of all T steps is one product.
 */
import { tf } from "./tf.ts";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "./tf.ts";
import type { ModelConfig } from "./config.ts";
import {
  type CellOptions,
  type CellParams,
  CELLS,
  type CellState,
  defaultRecurrentInit,
} from "./cells/mod.ts";
import { type RecurrenceKind, unrollLayer } from "./recurrence/mod.ts";
import { embed, matMul } from "./ops.ts";
import { blockedCrossEntropy } from "./blocked_loss.ts";
import { blockedCrossEntropyWebGpu } from "./blocked_loss_webgpu.ts";
import { createPrng, type Prng } from "./prng.ts";
import { uniform } from "./orthogonal_init.ts";

/** All model parameters by name: "embedding", "layer0/W", …, "output/W", "output/b". */
export type Params = Record<string, Tensor>;
/** The recurrent state of every layer. */
export type ModelState = CellState[];

export function cellOptions(cfg: ModelConfig, layer: number): CellOptions {
  return {
    inSize: layer === 0 ? cfg.embedSize : cfg.hiddenSize,
    hidden: cfg.hiddenSize,
    activation: cfg.activation,
    leakySlope: cfg.leakySlope,
    recurrentInit: cfg.recurrentInit ?? defaultRecurrentInit(cfg.cell),
  };
}

/** Every parameter's shape, by name, in a fixed order. */
export function paramShapes(cfg: ModelConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = { embedding: [cfg.vocabSize, cfg.embedSize] };
  for (let l = 0; l < cfg.layers; l++) {
    for (const [k, s] of Object.entries(CELLS[cfg.cell].shapes(cellOptions(cfg, l)))) {
      shapes[`layer${l}/${k}`] = s;
    }
  }
  if (!cfg.tieWeights) shapes["output/W"] = [cfg.hiddenSize, cfg.vocabSize];
  shapes["output/b"] = [cfg.vocabSize];
  return shapes;
}

/** Names of the parameters the optimizer keeps orthogonal (declared by the cells). */
export function orthogonalParams(cfg: ModelConfig): string[] {
  const names: string[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    for (const k of CELLS[cfg.cell].orthogonal) names.push(`layer${l}/${k}`);
  }
  return names;
}

/** Names of the complex parameters the optimizer keeps unitary (declared by the cells). */
export function unitaryParams(cfg: ModelConfig): string[] {
  const names: string[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    for (const k of CELLS[cfg.cell].unitary) names.push(`layer${l}/${k}`);
  }
  return names;
}

/** Fresh parameters; the same seed gives the same values on every backend. */
export function initParams(cfg: ModelConfig, seed: number): Params {
  const prng = createPrng(seed);
  const params: Params = {};
  for (const [name, shape] of Object.entries(paramShapes(cfg))) {
    const size = shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    const m = /^layer(\d+)\/(.+)$/.exec(name);
    if (m) {
      const l = Number(m[1]);
      values = CELLS[cfg.cell].init(m[2]!, shape, cellOptions(cfg, l), prng);
    } else if (name === "output/b") {
      values = new Float32Array(size);
    } else {
      values = uniform(size, 0.1, prng);
    }
    params[name] = tf.tensor(values, shape, "float32");
  }
  return params;
}

export function zeroState(cfg: ModelConfig, batch: number): ModelState {
  const hasCell = CELLS[cfg.cell].hasCell;
  return Array.from({ length: cfg.layers }, () => ({
    h: tf.zeros([batch, cfg.hiddenSize]) as Tensor2D,
    ...(hasCell ? { c: tf.zeros([batch, cfg.hiddenSize]) as Tensor2D } : {}),
  }));
}

/** Layer l's parameters under their cell names ("layer0/U" → "U"). */
export function layerParams(params: Params, l: number): CellParams {
  const prefix = `layer${l}/`;
  const out: CellParams = {};
  for (const [k, v] of Object.entries(params)) {
    if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v as Tensor2D;
  }
  return out;
}

export interface ForwardOptions {
  /** Dropout rate on the embedding and every layer's output; 0 (the default) at inference. */
  dropout?: number;
  /** Seeds the dropout masks; needed when dropout > 0. */
  prng?: Prng;
  /** Each layer's unroll: the recurrence op (fused) or per-step tfjs ops (the default). */
  recurrence?: RecurrenceKind;
}

function maybeDropout(x: Tensor2D, opts: ForwardOptions): Tensor2D {
  const rate = opts.dropout ?? 0;
  if (rate <= 0) return x;
  if (!opts.prng) throw new Error("Dropout needs a prng");
  return tf.dropout(x, rate, undefined, opts.prng.nextUint32()) as Tensor2D;
}

/**
 * Run the recurrence over tokens [B,T] (int32) from `state`.
 * Returns the top layer's outputs, time-major [T·B, H], and the final state.
 */
export function forwardHidden(
  params: Params,
  cfg: ModelConfig,
  tokens: Tensor2D,
  state: ModelState,
  opts: ForwardOptions = {},
): { hidden: Tensor2D; state: ModelState } {
  const [b, t] = tokens.shape;
  const ids = tf.reshape(tf.transpose(tokens), [-1]) as Tensor1D; // [T·B], row t·B + b
  let x = maybeDropout(embed(params.embedding as Tensor2D, ids), opts); // [T·B,E]
  const cell = CELLS[cfg.cell];
  const next: ModelState = [];
  for (let l = 0; l < cfg.layers; l++) {
    const p = layerParams(params, l);
    const o = cellOptions(cfg, l);
    const prep = cell.prepare(p);
    const xw = tf.reshape(cell.project(p, x), [t, b, cell.gates * cfg.hiddenSize]) as Tensor3D; // [T,B,gH]
    const kind = opts.recurrence ?? "composed";
    const { hs, state: s } = unrollLayer(kind, cell, p, prep, o, xw, state[l]!); // [T,B,H]
    next.push(s);
    x = maybeDropout(tf.reshape(hs, [t * b, cfg.hiddenSize]) as Tensor2D, opts); // [T·B,H]
  }
  return { hidden: x, state: next };
}

/**
 * The output matrix [H,V]: the transposed embedding when tied (a new tensor, which the caller
 * disposes; `cfg.tieWeights` says so), else the `output/W` parameter itself.
 */
export function outputMatrix(params: Params, cfg: ModelConfig): Tensor2D {
  return cfg.tieWeights
    ? tf.transpose(params.embedding as Tensor2D) as Tensor2D // [E=H, V]
    : (params["output/W"] as Tensor2D); // [H, V]
}

/** Output projection: hidden [N,H] → logits [N,V]. */
export function project(params: Params, cfg: ModelConfig, hidden: Tensor2D): Tensor2D {
  return tf.add(matMul(hidden, outputMatrix(params, cfg)), params["output/b"]!) as Tensor2D;
}

/**
 * Mean cross-entropy of predicting `targets` [B,T] from `tokens` [B,T], and the final state.
 * This is the training and evaluation entry point; the state carries across windows. The
 * output layer and the loss run in blocks of rows (blocked_loss.ts; on webgpu its fused
 * kernels, blocked_loss_webgpu.ts): no [B·T, V] softmax.
 */
export function forwardLoss(
  params: Params,
  cfg: ModelConfig,
  tokens: Tensor2D,
  targets: Tensor2D,
  state: ModelState,
  opts: ForwardOptions = {},
): { loss: Tensor; state: ModelState } {
  const { hidden, state: next } = forwardHidden(params, cfg, tokens, state, opts);
  const y = tf.reshape(tf.transpose(targets), [-1]) as Tensor1D; // [T·B], time-major like hidden
  const b = params["output/b"] as Tensor1D;
  if (tf.getBackend() === "webgpu") {
    // The tied embedding [V,H] is read as it is: no transpose dispatched forward or back.
    const w = (cfg.tieWeights ? params.embedding : params["output/W"]) as Tensor2D;
    const loss = blockedCrossEntropyWebGpu(hidden, w, cfg.tieWeights ? "VH" : "HV", b, y);
    return { loss, state: next };
  }
  return { loss: blockedCrossEntropy(hidden, outputMatrix(params, cfg), b, y), state: next };
}

/** Logits for every position, time-major [T·B, V], and the final state. */
export function forwardLogits(
  params: Params,
  cfg: ModelConfig,
  tokens: Tensor2D,
  state: ModelState,
): { logits: Tensor2D; state: ModelState } {
  const { hidden, state: next } = forwardHidden(params, cfg, tokens, state);
  return { logits: project(params, cfg, hidden), state: next };
}

/** One generation step: tokens [B] → log-probabilities [B,V] and the next state. */
export function step(
  params: Params,
  cfg: ModelConfig,
  tokens: Tensor1D,
  state: ModelState,
): { logProbs: Tensor2D; state: ModelState } {
  const { logits, state: next } = forwardLogits(
    params,
    cfg,
    tf.reshape(tokens, [-1, 1]) as Tensor2D,
    state,
  );
  return { logProbs: tf.logSoftmax(logits) as Tensor2D, state: next };
}

/** Dispose every tensor of a state. */
export function disposeState(state: ModelState): void {
  for (const s of state) {
    s.h.dispose();
    s.c?.dispose();
  }
}
