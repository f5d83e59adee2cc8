/** Log-probabilities of a prompt's own tokens, as completions' `echo` + `logprobs` reports them. */
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import { disposeState, forwardLogits, type ModelState, zeroState } from "../shared/model.ts";
import { logSumExp, topK } from "./engine.ts";
import type { ServedModel } from "./models.ts";

export interface PromptLogprobs {
  /** log p(token i | tokens before it) for each token after the leading `<eos>`. */
  logprobs: number[];
  /** The k most likely ids at each of those positions, as [id, logprob]. */
  top: [number, number][][];
}

/**
 * Positions read and projected at once. The wasm heap never shrinks, so its peak is what a
 * request costs for good: a block bounds it by [ECHO_BLOCK, V] logits, whatever the prompt's
 * length; and one block's work is short enough for other requests to run between blocks.
 */
export const ECHO_BLOCK = 64;

const yieldTask = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Score `ids` (a context starting with `<eos>`) block by block, the state carried across. */
export async function promptLogprobs(
  model: ServedModel,
  ids: Int32Array,
  k: number,
): Promise<PromptLogprobs> {
  const n = ids.length - 1;
  const logprobs: number[] = [], top: [number, number][][] = [];
  if (n < 1) return { logprobs, top };
  const v = model.config.vocabSize;
  let state: ModelState = zeroState(model.config, 1);
  try {
    for (let from = 0; from < n; from += ECHO_BLOCK) {
      const len = Math.min(ECHO_BLOCK, n - from);
      const prev = state;
      // tidy returns the tensors: it would walk a returned typed array element by element.
      const out = tf.tidy(() => {
        const x = tf.tensor2d(ids.subarray(from, from + len), [1, len], "int32");
        const r = forwardLogits(model.params, model.config, x, prev);
        const next = r.state.map((l) => ({ h: tf.keep(l.h), ...(l.c ? { c: tf.keep(l.c) } : {}) }));
        return { logits: r.logits as Tensor2D, state: next };
      }) as { logits: Tensor2D; state: ModelState };
      state = out.state;
      disposeState(prev);
      const logits = out.logits.dataSync() as Float32Array; // [len, V]
      out.logits.dispose();
      for (let t = 0; t < len; t++) {
        const row = logits.subarray(t * v, (t + 1) * v);
        const lse = logSumExp(row);
        logprobs.push(row[ids[from + t + 1]!]! - lse);
        top.push(k > 0 ? topK(row, k).map(([id, x]) => [id, x - lse]) : []);
      }
      if (from + len < n) await yieldTask();
    }
  } finally {
    disposeState(state);
  }
  return { logprobs, top };
}
