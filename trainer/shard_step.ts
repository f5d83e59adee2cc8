/**
 * Loss and gradients of one batch (or one shard of a batch) from a carried hidden state:
 * the unit of work that a training step does, in the main thread or in a gradient worker.
 */
import { scoped, tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import { forwardLoss, type ModelState, type Params } from "../shared/model.ts";
import type { Prng } from "../shared/prng.ts";
import type { RecurrenceKind } from "../shared/recurrence/mod.ts";

export interface ShardResult {
  loss: number;
  /** ∂loss/∂param by parameter name; kept: the caller disposes them. */
  grads: Record<string, Tensor>;
  /** The final hidden state, detached and kept. */
  state: ModelState;
}

/**
 * x, y: [rows, len] int32 row-major. Non-finite losses return no gradients. The loss is the
 * step's one read from the device; the gradients stay there.
 */
export async function shardStep(
  params: Params,
  model: ModelConfig,
  x: Int32Array,
  y: Int32Array,
  rows: number,
  len: number,
  hidden: ModelState,
  dropout: number,
  prng: Prng,
  recurrence: RecurrenceKind = "composed",
): Promise<ShardResult> {
  const r = shardStepOnDevice(params, model, x, y, rows, len, hidden, dropout, prng, recurrence);
  const loss = (await r.loss.data())[0]!;
  r.loss.dispose();
  if (!Number.isFinite(loss)) {
    Object.values(r.grads).forEach((g) => g.dispose());
    return { loss, grads: {}, state: r.state };
  }
  return { loss, grads: r.grads, state: r.state };
}

/** As `shardStep`, reading nothing: the loss is a kept scalar tensor the caller disposes. */
export function shardStepOnDevice(
  params: Params,
  model: ModelConfig,
  x: Int32Array,
  y: Int32Array,
  rows: number,
  len: number,
  hidden: ModelState,
  dropout: number,
  prng: Prng,
  recurrence: RecurrenceKind = "composed",
): Omit<ShardResult, "loss"> & { loss: Tensor } {
  const { value, grads, state } = scoped(() => {
    const names = Object.keys(params);
    const xt = tf.tensor2d(x, [rows, len], "int32") as Tensor2D;
    const yt = tf.tensor2d(y, [rows, len], "int32") as Tensor2D;
    let state: ModelState = [];
    const { value, grads } = tf.valueAndGrads((...ts: Tensor[]) => {
      const p = Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
      const out = forwardLoss(p, model, xt, yt, hidden, { dropout, prng, recurrence });
      state = out.state.map((s) => ({ h: tf.keep(s.h), ...(s.c ? { c: tf.keep(s.c) } : {}) }));
      return out.loss;
    })(names.map((n) => params[n]!));
    const kept: Record<string, Tensor> = {};
    names.forEach((n, i) => (kept[n] = tf.keep(grads[i]!)));
    return { value: tf.keep(value), grads: kept, state };
  });
  return { loss: value, grads, state };
}

/** Rows [from, from+count) of a [rows, len] row-major array. */
export function rowSlice(a: Int32Array, len: number, from: number, count: number): Int32Array {
  return a.slice(from * len, (from + count) * len);
}
