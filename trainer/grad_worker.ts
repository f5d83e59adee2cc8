/**
 * A gradient worker: its own wasm backend in its own thread, computing loss and gradients
 * for its shard of every batch, with its shard's hidden state kept between windows.
 * Protocol (messages in, one reply each): init, step, getState, setState, reset.
 */
/// <reference lib="deno.worker" />
import { tf } from "../shared/tf.ts";
import { initBackend } from "../shared/backend.ts";
import type { ModelConfig } from "../shared/config.ts";
import { disposeState, type ModelState, type Params, zeroState } from "../shared/model.ts";
import { createPrng } from "../shared/prng.ts";
import { shardStep } from "./shard_step.ts";
import type { RecurrenceKind } from "../shared/recurrence/mod.ts";
import {
  stateFromArrays,
  stateToArrays,
  type WorkerReply,
  type WorkerRequest,
} from "./grad_pool.ts";

let model: ModelConfig;
let recurrence: RecurrenceKind = "composed";
let rows = 0;
let params: Params = {};
let hidden: ModelState = [];

let shapes: Record<string, number[]> = {};

function setParams(values: Record<string, Float32Array>): void {
  for (const [k, v] of Object.entries(values)) {
    params[k]?.dispose();
    params[k] = tf.tensor(v, shapes[k]);
  }
}

async function handle(m: WorkerRequest): Promise<WorkerReply> {
  switch (m.type) {
    case "init":
      await initBackend("wasm", { threads: 1 });
      model = m.model;
      recurrence = m.recurrence;
      rows = m.rows;
      shapes = m.shapes;
      params = {};
      setParams(m.params);
      hidden = zeroState(model, rows);
      return { type: "ok" };
    case "step": {
      setParams(m.params);
      const r = await shardStep(
        params,
        model,
        m.x,
        m.y,
        rows,
        m.len,
        hidden,
        m.dropout,
        createPrng(m.seed),
        recurrence,
      );
      const grads: Record<string, Float32Array> = {};
      for (const [k, g] of Object.entries(r.grads)) {
        grads[k] = g.dataSync() as Float32Array;
        g.dispose();
      }
      if (Number.isFinite(r.loss)) {
        disposeState(hidden);
        hidden = r.state;
      } else disposeState(r.state);
      return { type: "grads", loss: r.loss, grads };
    }
    case "getState":
      return { type: "state", state: stateToArrays(hidden) };
    case "setState":
      disposeState(hidden);
      hidden = stateFromArrays(m.state, rows, model.hiddenSize);
      return { type: "ok" };
    case "reset":
      disposeState(hidden);
      hidden = zeroState(model, rows);
      return { type: "ok" };
  }
}

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  try {
    const reply = await handle(e.data);
    const transfer = reply.type === "grads"
      ? Object.values(reply.grads).map((a) => a.buffer as ArrayBuffer)
      : [];
    self.postMessage(reply, { transfer });
  } catch (err) {
    self.postMessage({ type: "error", message: (err as Error).message } satisfies WorkerReply);
  }
};
