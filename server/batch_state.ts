/**
 * The batch's recurrent state as streams join and leave: a joining stream's prompt is read into
 * its own [1,H] state chunk by chunk, then every stream that stays and every joiner are stacked
 * into one [B,H] state per layer, in the order of the new batch.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import { disposeState, forwardHidden, type ModelState, zeroState } from "../shared/model.ts";
import type { Params } from "../shared/model.ts";
import type { Stream } from "./stream.ts";

/**
 * Read up to `budget` more of `s`'s prompt (all context ids but the last) into `s.joining`;
 * returns how many were read. A long prompt is read over several ticks, so the batch keeps
 * stepping between its chunks and the wasm heap holds one chunk's activations at a time.
 */
export function prefill(params: Params, cfg: ModelConfig, s: Stream, budget: number): number {
  const ctx = s.job.context;
  const n = ctx.length - 1;
  s.input = ctx[n]!;
  s.joining ??= zeroState(cfg, 1);
  const k = Math.min(budget, n - s.read);
  if (k <= 0) return 0;
  const prev = s.joining;
  s.joining = tf.tidy(() => {
    const x = tf.tensor2d(ctx.subarray(s.read, s.read + k), [1, k], "int32"); // [1, k]
    const out = forwardHidden(params, cfg, x, prev).state;
    return out.map((l) => ({ h: tf.keep(l.h), ...(l.c ? { c: tf.keep(l.c) } : {}) }));
  });
  disposeState(prev);
  s.read += k;
  return k;
}

/**
 * The batch state for `keep` (row indices into `old`) followed by the joiners' states; `old`
 * and the joiners' states are disposed (and each joiner's `joining` cleared).
 */
export function regroup(
  cfg: ModelConfig,
  old: ModelState | undefined,
  keep: number[],
  joiners: Stream[],
): ModelState {
  const parts = (l: number, k: "h" | "c"): Tensor2D[] => {
    const out: Tensor2D[] = [];
    const o = old?.[l]?.[k];
    if (o && keep.length > 0) {
      out.push(
        keep.length === o.shape[0] ? o : tf.gather(o, tf.tensor1d(keep, "int32")) as Tensor2D,
      );
    }
    for (const j of joiners) out.push(j.joining![l]![k]!);
    return out;
  };
  const state = tf.tidy(() =>
    Array.from({ length: cfg.layers }, (_, l) => {
      const h = tf.keep(tf.concat(parts(l, "h"), 0)) as Tensor2D; // [B, H]
      if (!(old?.[0]?.c ?? joiners[0]?.joining?.[0]?.c)) return { h };
      return { h, c: tf.keep(tf.concat(parts(l, "c"), 0)) as Tensor2D };
    })
  );
  if (old) disposeState(old);
  for (const j of joiners) {
    disposeState(j.joining!);
    j.joining = undefined;
  }
  return state;
}
