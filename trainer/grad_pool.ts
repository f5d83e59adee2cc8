/**
 * Data-parallel gradients: the batch's rows are split into equal shards; shard 0 runs in this
 * thread, the others in gradient workers (each its own wasm backend, so two cores do twice
 * the work), and the gradients are averaged. Every shard has the same number of tokens, so
 * the average of the shards' mean losses is the whole batch's mean loss and the averaged
 * gradient is the whole batch's gradient: the math of a step is unchanged.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import {
  disposeState,
  type ModelState,
  type Params,
  paramShapes,
  zeroState,
} from "../shared/model.ts";
import { createPrng, type Prng } from "../shared/prng.ts";
import type { RecurrenceKind } from "../shared/recurrence/mod.ts";
import { rowSlice, shardStep, shardStepOnDevice } from "./shard_step.ts";

export type StateArrays = { h: Float32Array; c?: Float32Array }[];

export type WorkerRequest =
  | {
    type: "init";
    model: ModelConfig;
    recurrence: RecurrenceKind;
    rows: number;
    shapes: Record<string, number[]>;
    params: Record<string, Float32Array>;
  }
  | {
    type: "step";
    params: Record<string, Float32Array>;
    x: Int32Array;
    y: Int32Array;
    len: number;
    dropout: number;
    seed: number;
  }
  | { type: "getState" }
  | { type: "setState"; state: StateArrays }
  | { type: "reset" };

export type WorkerReply =
  | { type: "ok" }
  | { type: "grads"; loss: number; grads: Record<string, Float32Array> }
  | { type: "state"; state: StateArrays }
  | { type: "error"; message: string };

export function stateToArrays(s: ModelState): StateArrays {
  return s.map((l) => ({
    h: l.h.dataSync() as Float32Array,
    ...(l.c ? { c: l.c.dataSync() as Float32Array } : {}),
  }));
}

export function stateFromArrays(s: StateArrays, rows: number, hidden: number): ModelState {
  return s.map((l) => ({
    h: tf.tensor2d(l.h, [rows, hidden]) as Tensor2D,
    ...(l.c ? { c: tf.tensor2d(l.c, [rows, hidden]) as Tensor2D } : {}),
  }));
}

/** Computes a batch's loss and gradients, keeping the hidden state across windows. */
export interface GradEngine {
  /** x, y: [batch, len] row-major. Gradients are kept tensors the caller disposes. */
  step(
    vars: Record<string, Variable>,
    x: Int32Array,
    y: Int32Array,
    len: number,
  ): Promise<{ loss: number; grads: Record<string, Tensor> }>;
  /**
   * As `step`, with the loss a kept scalar tensor (the caller disposes it): with one shard
   * nothing is read back, and the hidden state moves on even if the loss is not finite
   * (the caller checks the loss when it reads it, and stops).
   */
  stepOnDevice(
    vars: Record<string, Variable>,
    x: Int32Array,
    y: Int32Array,
    len: number,
  ): Promise<{ loss: Tensor; grads: Record<string, Tensor> }>;
  /** The whole batch's hidden state (new tensors). */
  getState(): Promise<ModelState>;
  setState(s: ModelState): Promise<void>;
  reset(): Promise<void>;
  close(): void;
}

function post(w: Worker, m: WorkerRequest): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    w.onmessage = (e: MessageEvent<WorkerReply>) => {
      if (e.data.type === "error") reject(new Error(`Gradient worker: ${e.data.message}`));
      else resolve(e.data);
    };
    w.onerror = (e) => reject(new Error(`Gradient worker failed: ${e.message}`));
    w.postMessage(m);
  });
}

/**
 * A gradient engine over `workers` shards (1: everything in this thread). With one shard the
 * dropout masks come from `prng` itself; with several, each shard's from a seed drawn from it.
 * `recurrence` chooses how each layer unrolls (shared/recurrence/mod.ts).
 */
export async function createGradEngine(
  model: ModelConfig,
  batch: number,
  workers: number,
  dropout: number,
  prng: Prng,
  initial: Params,
  recurrence: RecurrenceKind = "composed",
): Promise<GradEngine> {
  if (batch % workers !== 0) {
    throw new Error(`--batch ${batch} must be a multiple of --workers ${workers}`);
  }
  if (workers > 1 && tf.getBackend() === "webgpu") {
    // Gradient workers each run their own wasm backend: sharding only pays across CPU cores.
    throw new Error(
      `--workers ${workers} shards batches over wasm threads; use --workers 1 on webgpu`,
    );
  }
  const rows = batch / workers;
  const pool: Worker[] = [];
  const values = (ps: Record<string, Tensor>) =>
    Object.fromEntries(Object.entries(ps).map(([k, v]) => [k, v.dataSync() as Float32Array]));
  for (let i = 1; i < workers; i++) {
    const w = new Worker(new URL("./grad_worker.ts", import.meta.url).href, { type: "module" });
    pool.push(w);
    await post(w, {
      type: "init",
      model,
      recurrence,
      rows,
      shapes: paramShapes(model),
      params: values(initial),
    });
  }
  let hidden = zeroState(model, rows);
  const split = (s: ModelState, i: number) =>
    s.map((l) => ({
      h: tf.slice(l.h, [i * rows, 0], [rows, -1]) as Tensor2D,
      ...(l.c ? { c: tf.slice(l.c, [i * rows, 0], [rows, -1]) as Tensor2D } : {}),
    }));
  const engine: GradEngine = {
    async stepOnDevice(vars, x, y, len) {
      if (pool.length) {
        const { loss, grads } = await engine.step(vars, x, y, len);
        return { loss: tf.scalar(loss), grads };
      }
      const own = shardStepOnDevice(
        vars as unknown as Params,
        model,
        x,
        y,
        rows,
        len,
        hidden,
        dropout,
        prng,
        recurrence,
      );
      disposeState(hidden);
      hidden = own.state;
      return { loss: own.loss, grads: own.grads };
    },
    async step(vars, x, y, len) {
      const params = vars as unknown as Params;
      const current = pool.length ? values(vars) : {};
      const pending = pool.map((w, i) =>
        post(w, {
          type: "step",
          params: current,
          x: rowSlice(x, len, (i + 1) * rows, rows),
          y: rowSlice(y, len, (i + 1) * rows, rows),
          len,
          dropout,
          seed: prng.nextUint32(),
        })
      );
      const shardPrng = pool.length ? createPrng(prng.nextUint32()) : prng;
      const own = await shardStep(
        params,
        model,
        rowSlice(x, len, 0, rows),
        rowSlice(y, len, 0, rows),
        rows,
        len,
        hidden,
        dropout,
        shardPrng,
        recurrence,
      );
      const replies = (await Promise.all(pending)) as Extract<WorkerReply, { type: "grads" }>[];
      const losses = [own.loss, ...replies.map((r) => r.loss)];
      const loss = losses.reduce((a, b) => a + b, 0) / losses.length;
      if (!Number.isFinite(loss)) {
        disposeState(own.state);
        Object.values(own.grads).forEach((g) => g.dispose());
        return { loss, grads: {} };
      }
      disposeState(hidden);
      hidden = own.state;
      if (!pool.length) return { loss, grads: own.grads };
      const grads: Record<string, Tensor> = {};
      for (const [k, g] of Object.entries(own.grads)) {
        grads[k] = tf.tidy(() =>
          tf.div(
            tf.addN([g, ...replies.map((r) => tf.tensor(r.grads[k]!, g.shape))]),
            losses.length,
          )
        );
        g.dispose();
      }
      return { loss, grads };
    },
    async getState() {
      const parts = [
        hidden.map((l) => ({ h: tf.clone(l.h), ...(l.c ? { c: tf.clone(l.c) } : {}) })),
      ];
      for (const w of pool) {
        const r = (await post(w, { type: "getState" })) as Extract<WorkerReply, { type: "state" }>;
        parts.push(stateFromArrays(r.state, rows, model.hiddenSize));
      }
      const full = hidden.map((l, li) => ({
        h: tf.concat(parts.map((p) => p[li]!.h), 0) as Tensor2D,
        ...(l.c ? { c: tf.concat(parts.map((p) => p[li]!.c!), 0) as Tensor2D } : {}),
      }));
      parts.forEach(disposeState);
      return full;
    },
    async setState(s) {
      disposeState(hidden);
      hidden = split(s, 0);
      for (const [i, w] of pool.entries()) {
        const part = split(s, i + 1);
        await post(w, { type: "setState", state: stateToArrays(part) });
        disposeState(part);
      }
    },
    async reset() {
      disposeState(hidden);
      hidden = zeroState(model, rows);
      for (const w of pool) await post(w, { type: "reset" });
    },
    close() {
      for (const w of pool) w.terminate();
    },
  };
  return engine;
}
