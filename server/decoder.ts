/**
 * A generation step for serving. `shared/model.ts` `step` rebuilds each cell's recurrent
 * constants (concatenated, transposed U) on every call, which costs more than the step itself
 * at H = 256 on wasm; a decoder builds them once per model and keeps them.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor1D, Tensor2D } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import { CELLS, type Prepared } from "../shared/cells/mod.ts";
import {
  cellOptions,
  layerParams,
  type ModelState,
  outputMatrix,
  type Params,
} from "../shared/model.ts";

export interface Decoder {
  cfg: ModelConfig;
  /**
   * Inputs ids [B] → unnormalised logits [B,V] and the next state (new tensors; the caller
   * disposes them and still owns `state`).
   */
  step(ids: Int32Array, state: ModelState): { logits: Tensor2D; state: ModelState };
  /** Free the kept constants (not the params). */
  dispose(): void;
}

export function createDecoder(params: Params, cfg: ModelConfig): Decoder {
  const cell = CELLS[cfg.cell];
  const layers = Array.from({ length: cfg.layers }, (_, l) => {
    const p = layerParams(params, l);
    const prep: Prepared = tf.tidy(() => {
      const { U, UT } = cell.prepare(p);
      return { U: tf.keep(U), UT: tf.keep(UT) };
    });
    return { p, prep, o: cellOptions(cfg, l) };
  });
  const embedding = params.embedding as Tensor2D; // [V,E]
  const ownW = cfg.tieWeights;
  const outW = tf.keep(outputMatrix(params, cfg)); // [H,V]
  const outB = params["output/b"] as Tensor1D; // [V]
  return {
    cfg,
    step(ids, state) {
      let out!: { logits: Tensor2D; state: ModelState };
      tf.tidy(() => {
        let x = tf.gather(embedding, tf.tensor1d(ids, "int32")) as Tensor2D; // [B,E]
        const next: ModelState = [];
        for (const [l, { p, prep, o }] of layers.entries()) {
          const s = cell.recur(p, prep, o, state[l]!, cell.project(p, x)); // xw [B,gH]
          next.push(s);
          x = s.h; // [B,H]
        }
        const logits = tf.fused.matMul({ a: x, b: outW, bias: outB }) as Tensor2D; // [B,H]·[H,V] + b → [B,V]
        out = {
          logits: tf.keep(logits),
          state: next.map((s) => ({ h: tf.keep(s.h), ...(s.c ? { c: tf.keep(s.c) } : {}) })),
        };
      });
      return out;
    },
    dispose() {
      for (const { prep } of layers) {
        prep.U.dispose();
        prep.UT.dispose();
      }
      if (ownW) outW.dispose();
    },
  };
}
