/** Log-probabilities of a prompt's own tokens, as completions' `echo` + `logprobs` reports them. */
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import { disposeState, forwardLogits, zeroState } from "../shared/model.ts";
import { logSumExp, topK } from "./engine.ts";
import type { ServedModel } from "./models.ts";

export interface PromptLogprobs {
  /** log p(token i | tokens before it) for each token after the leading `<eos>`. */
  logprobs: number[];
  /** The k most likely ids at each of those positions, as [id, logprob]. */
  top: [number, number][][];
}

/** Score `ids` (a context starting with `<eos>`) in one pass. */
export function promptLogprobs(model: ServedModel, ids: Int32Array, k: number): PromptLogprobs {
  const n = ids.length - 1;
  if (n < 1) return { logprobs: [], top: [] };
  const v = model.config.vocabSize;
  const state = zeroState(model.config, 1);
  // tidy returns the tensor: it would walk a returned typed array element by element.
  const t = tf.tidy(() => {
    const x = tf.tensor2d(ids.subarray(0, n), [1, n], "int32");
    return forwardLogits(model.params, model.config, x, state).logits as Tensor2D;
  });
  const logits = t.dataSync() as Float32Array; // [n, V]
  t.dispose();
  disposeState(state);
  const logprobs: number[] = [], top: [number, number][][] = [];
  for (let t = 0; t < n; t++) {
    const row = logits.subarray(t * v, (t + 1) * v);
    const lse = logSumExp(row);
    logprobs.push(row[ids[t + 1]!]! - lse);
    top.push(k > 0 ? topK(row, k).map(([id, x]) => [id, x - lse]) : []);
  }
  return { logprobs, top };
}
