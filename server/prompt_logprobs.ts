/** Log-probabilities of a prompt's own tokens, as completions' `echo` + `logprobs` reports them. */
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor1D, Tensor2D } from "../shared/tf.ts";
import {
  disposeState,
  forwardHidden,
  type ModelState,
  outputMatrix,
  zeroState,
} from "../shared/model.ts";
import type { ServedModel } from "./models.ts";
import { inBlocks, sliceMs, yieldTask } from "./yield.ts";

export interface PromptLogprobs {
  /** log p(token i | tokens before it) for each token after the leading `<eos>`. */
  logprobs: number[];
  /** The k most likely ids at each of those positions, as [id, logprob]. */
  top: [number, number][][];
}

/**
 * Positions read and projected at once. The wasm heap never shrinks, so its peak is what a
 * request costs for good: a block bounds it by a few [ECHO_BLOCK, V] tensors, whatever the
 * prompt's length. A block is also the shortest turn this thread takes, and other requests
 * wait for several turns (yield.ts sliceMs): 16 positions take ~5 ms of a 256-unit model here,
 * 64 took ~17 ms.
 */
export const ECHO_BLOCK = 16;

/**
 * Score `ids` (a context starting with `<eos>`) block by block, the state carried across. Only
 * [len] probabilities and [len, k] alternatives leave the backend: its softmax kernel and top-k
 * run there (log-softmax as separate ops, or a loop over every row in JS, took several times
 * longer); a block where a target's probability underflowed float32 takes −logSumExp instead.
 */
export function promptLogprobs(
  model: ServedModel,
  ids: Int32Array,
  k: number,
  signal?: AbortSignal,
): Promise<PromptLogprobs> {
  return inBlocks(() => scoreBlocks(model, ids, k), signal);
}

async function scoreBlocks(
  model: ServedModel,
  ids: Int32Array,
  k: number,
): Promise<PromptLogprobs> {
  const n = ids.length - 1;
  const logprobs: number[] = [], top: [number, number][][] = [];
  if (n < 1) return { logprobs, top };
  const cfg = model.config, v = cfg.vocabSize;
  // Built once per request: a tied embedding's transpose costs as much as a block's product.
  const w = tf.keep(outputMatrix(model.params, cfg));
  const bias = model.params["output/b"] as Tensor1D;
  // A model trained with its state reset every window reads the prompt that way: blocks also
  // end at its window boundaries, where the state restarts from zero.
  const every = model.stateResetEvery ?? Infinity;
  let state: ModelState = zeroState(cfg, 1);
  let slice = performance.now();
  try {
    for (let from = 0, len = 0; from < n; from += len) {
      len = Math.min(ECHO_BLOCK, n - from, every - (from % every));
      if (from > 0 && from % every === 0) {
        disposeState(state);
        state = zeroState(cfg, 1);
      }
      const at = Int32Array.from({ length: len }, (_, t) => t * v + ids[from + t + 1]!);
      const prev = state;
      const out = tf.tidy(() => {
        const x = tf.tensor2d(ids.subarray(from, from + len), [1, len], "int32");
        const r = forwardHidden(model.params, cfg, x, prev);
        const logits = tf.fused.matMul({ a: r.hidden, b: w, bias }) as Tensor2D; // [len, V]
        const p = tf.softmax(logits);
        const picked = tf.gather(tf.reshape(p, [-1]), tf.tensor1d(at, "int32")); // [len]
        const best = k > 0 ? tf.topk(p, k + 1) : undefined; // [len, k + 1]
        const next = r.state.map((l) => ({ h: tf.keep(l.h), ...(l.c ? { c: tf.keep(l.c) } : {}) }));
        return { logits, picked, topP: best?.values, topI: best?.indices, state: next };
      }) as { logits: Tensor2D; picked: Tensor; topP?: Tensor; topI?: Tensor; state: ModelState };
      state = out.state;
      disposeState(prev);
      let lp = Float64Array.from(out.picked.dataSync() as Float32Array, Math.log);
      if (!lp.every(Number.isFinite)) {
        const exact = tf.tidy(() =>
          tf.sub(
            tf.gather(tf.reshape(out.logits, [-1]), tf.tensor1d(at, "int32")),
            tf.logSumExp(out.logits, 1),
          )
        );
        lp = Float64Array.from(exact.dataSync() as Float32Array);
        exact.dispose();
      }
      const tp = out.topP?.dataSync() as Float32Array | undefined;
      const ti = out.topI?.dataSync() as Int32Array | undefined;
      tf.dispose([out.logits, out.picked, ...(out.topP ? [out.topP, out.topI!] : [])]);
      // Alternatives are what the model would write next, and it never writes <unk>: the k
      // most likely of the others (one more is read so that k remain without it).
      const unk = model.vocab.unk;
      for (let t = 0; t < len; t++) {
        logprobs.push(lp[t]!);
        const row: [number, number][] = [];
        for (let j = 0; j <= k && row.length < k; j++) {
          const id = ti![t * (k + 1) + j]!;
          if (id !== unk) row.push([id, Math.log(tp![t * (k + 1) + j]!)]);
        }
        top.push(row);
      }
      if (from + len < n && performance.now() - slice >= sliceMs()) {
        await yieldTask();
        slice = performance.now();
      }
    }
  } finally {
    disposeState(state);
    if (cfg.tieWeights) w.dispose();
  }
  return { logprobs, top };
}
