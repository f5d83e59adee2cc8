/**
 * How rotor measures a PTB perplexity, written once for `deno task eval`, the trainer's final
 * figures and the model cards.
 *
 * The split is one token stream, each line's words then `<eos>`, read after an `<eos>` (as
 * the server reads every text), so every token of the split is predicted: 82,430 on test,
 * 73,760 on valid. Two layouts:
 * - `STREAM`: one stream with the state carried from the first token to the last (the usual
 *   protocol, and what model cards report as `valid_ppl` / `test_ppl`);
 * - `COLUMNS`: the stream cut into 10 contiguous columns scored side by side, each starting
 *   from the zero state (several times faster; `*_ppl_columns`, slightly higher because ten
 *   places lose their context).
 */
import type { ScoreOptions } from "./perplexity.ts";

export const STREAM: ScoreOptions = { batch: 1, bptt: 35 };
export const COLUMNS: ScoreOptions = { batch: 10, bptt: 35 };

/**
 * How a model reads a text, from model.json's `stateResetEvery`: a model trained with its state
 * reset at every window is scored the same way (windows of that many steps, each from the zero
 * state); any other carries its state. These options override a layout's `bptt`.
 */
export function readingOptions(stateResetEvery: number | undefined): ScoreOptions {
  return stateResetEvery ? { bptt: stateResetEvery, resetEachWindow: true } : {};
}

/** `<eos>` followed by a split's ids: the stream whose every token after the first is scored. */
export function evalStream(eos: number, ids: Int32Array): Int32Array {
  const s = new Int32Array(ids.length + 1);
  s[0] = eos;
  s.set(ids, 1);
  return s;
}
