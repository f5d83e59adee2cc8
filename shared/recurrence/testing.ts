/**
 * The recurrence tests' common part (imported only from *_test.ts): every cell variant, and
 * one layer's outputs and gradients by the op or by the composed ops, from host arrays so
 * that two backends see the same numbers.
 */
import { tf } from "../tf.ts";
import type { Tensor, Tensor2D, Tensor3D } from "../tf.ts";
import { ACTIVATIONS } from "../activations.ts";
import { CELLS, type CellState, unroll } from "../cells/mod.ts";
import type { CellKind } from "../config.ts";
import { cellOptions } from "../model.ts";
import { parseModelConfig } from "../config.ts";
import { createPrng } from "../prng.ts";
import { recurrence } from "./recurrence.ts";

export interface Variant {
  cell: CellKind;
  activation: (typeof ACTIVATIONS)[number];
}

export const VARIANTS: Variant[] = [
  ...ACTIVATIONS.map((activation) => ({ cell: "rnn" as const, activation })),
  { cell: "urnn", activation: "modrelu" },
  { cell: "urnn", activation: "abs" },
  { cell: "gru", activation: "tanh" },
  { cell: "ugru", activation: "tanh" },
  { cell: "lstm", activation: "tanh" },
  { cell: "curnn", activation: "modrelu" },
  { cell: "curnn", activation: "tanh" },
  { cell: "cugru", activation: "tanh" },
];

export const label = (v: Variant) =>
  CELLS[v.cell].family === "rnn" || CELLS[v.cell].family === "crnn"
    ? `${v.cell}(${v.activation})`
    : v.cell;

/** A layer's case: sizes, options and host values of its inputs, parameters and state. */
export function layerCase(v: Variant, seed: number, dims = { T: 5, B: 3, H: 6 }, reset = false) {
  const { T, B, H } = dims;
  const cfg = parseModelConfig({
    cell: v.cell,
    activation: v.activation,
    leakySlope: 0.2,
    vocabSize: 4,
    embedSize: H,
    hiddenSize: H,
  });
  const o = cellOptions(cfg, 0);
  const cell = CELLS[v.cell];
  const prng = createPrng(seed);
  const normal = (n: number, scale: number) =>
    Float32Array.from({ length: n }, () => scale * prng.normal());
  const shapes = cell.shapes(o);
  // Weights large enough that every activation's branches (negative, clipped) are taken;
  // orthogonal blocks keep their init (the cell's own, as in training).
  const params = Object.fromEntries(
    Object.entries(shapes).map(([k, s]) => {
      const n = s.reduce((a, b) => a * b, 1);
      return [k, cell.orthogonal.includes(k) ? cell.init(k, s, o, prng) : normal(n, 0.5)];
    }),
  );
  const G = cell.gates * H;
  return {
    cell,
    o,
    dims,
    shapes,
    params,
    xw: normal(T * B * G, 1),
    h0: reset ? new Float32Array(B * H) : normal(B * H, 0.7),
    c0: reset ? new Float32Array(B * H) : normal(B * H, 0.7),
    // Weights of a loss that reads every output: each step's h and the final state.
    wHs: normal(T * B * H, 1),
    wH: normal(B * H, 1),
    wC: normal(B * H, 1),
  };
}
export type LayerCase = ReturnType<typeof layerCase>;

/**
 * hs, the final state and the gradient of Σ wHs·hs + Σ wH·h_T (+ Σ wC·c_T) with respect to
 * xw, every parameter the step reads and the initial state, on the current backend.
 */
export async function runLayer(
  c: LayerCase,
  fused: boolean,
): Promise<Record<string, Float32Array>> {
  const { T, B, H } = c.dims;
  const G = c.cell.gates * H;
  const outputs = tf.tidy(() => {
    const names = Object.keys(c.shapes).filter((k) => k !== "W" && k !== "b");
    const xs: Record<string, Tensor> = {
      xw: tf.tensor3d(c.xw, [T, B, G]),
      h0: tf.tensor2d(c.h0, [B, H]),
      ...(c.cell.hasCell ? { c0: tf.tensor2d(c.c0, [B, H]) } : {}),
      ...Object.fromEntries(names.map((k) => [k, tf.tensor(c.params[k]!, c.shapes[k])])),
    };
    const keys = Object.keys(xs);
    let out: { hs: Tensor; state: CellState } | undefined;
    const f = (...ts: Tensor[]) => {
      const x = Object.fromEntries(keys.map((k, i) => [k, ts[i]!]));
      const p = Object.fromEntries(names.map((k) => [k, x[k]])) as Record<string, Tensor2D>;
      const state = { h: x.h0 as Tensor2D, ...(x.c0 ? { c: x.c0 as Tensor2D } : {}) };
      const prep = c.cell.prepare(p);
      const xw = x.xw as Tensor3D;
      if (fused) out = recurrence(c.cell, p, prep, c.o, xw, state);
      else {
        const r = unroll(c.cell, p, prep, c.o, xw, state);
        out = { hs: tf.stack(r.hs, 0), state: r.state };
      }
      // Kept: valueAndGrads disposes what f made but its value.
      [out.hs, out.state.h, ...(out.state.c ? [out.state.c] : [])].forEach((t) => tf.keep(t));
      const terms = [
        tf.sum(tf.mul(out.hs, tf.tensor3d(c.wHs, [T, B, H]))),
        tf.sum(tf.mul(out.state.h, tf.tensor2d(c.wH, [B, H]))),
        ...(out.state.c ? [tf.sum(tf.mul(out.state.c, tf.tensor2d(c.wC, [B, H])))] : []),
      ];
      return tf.addN(terms) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(f)(keys.map((k) => xs[k]!));
    const named: Record<string, Tensor> = {
      loss: value,
      hs: out!.hs,
      h: out!.state.h,
      ...(out!.state.c ? { c: out!.state.c } : {}),
      ...Object.fromEntries(keys.map((k, i) => [`∂${k}`, grads[i]!])),
    };
    Object.values(named).forEach((t) => tf.keep(t));
    return named;
  });
  // Read asynchronously: webgpu has no synchronous read-back under Deno.
  const result: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(outputs)) result[k] = (await t.data()) as Float32Array;
  tf.dispose(Object.values(outputs));
  return result;
}
