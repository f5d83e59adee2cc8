/**
 * LSTM baseline (Hochreiter & Schmidhuber 1997), gates i, f, g, o packed in that order:
 *   [i f g o] = x·W + b + h·U;  c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g);  h' = σ(o) ⊙ tanh(c')
 * The forget-gate bias starts at 1 (Jozefowicz et al. 2015).
 */
import { tf } from "../tf.ts";
import type { Tensor1D, Tensor2D } from "../tf.ts";
import { affine, matMul } from "../ops.ts";
import { canFuse, fusedLstmStep } from "../fused_cells.ts";
import { recurrentMatrix, uniform } from "../orthogonal_init.ts";
import { prepared } from "./prepared.ts";
import type { CellDef } from "./types.ts";

export const lstm: CellDef = {
  family: "lstm",
  gates: 4,
  hasCell: true,
  orthogonal: [],
  unitary: [],
  shapes: (o) => ({ W: [o.inSize, 4 * o.hidden], U: [o.hidden, 4 * o.hidden], b: [4 * o.hidden] }),
  init(name, shape, o, prng) {
    const size = shape.reduce((a, b) => a * b, 1);
    const lim = 1 / Math.sqrt(o.hidden);
    if (name === "b") {
      const b = new Float32Array(size);
      b.fill(1, o.hidden, 2 * o.hidden);
      return b;
    }
    if (name === "U" && o.recurrentInit !== "uniform") {
      // Each of the four H×H blocks drawn by the requested scheme, laid side by side.
      const out = new Float32Array(size);
      for (let g = 0; g < 4; g++) {
        const blk = recurrentMatrix(o.recurrentInit, o.hidden, prng);
        for (let i = 0; i < o.hidden; i++) {
          out.set(blk.subarray(i * o.hidden, (i + 1) * o.hidden), i * 4 * o.hidden + g * o.hidden);
        }
      }
      return out;
    }
    return uniform(size, lim, prng);
  },
  project: (p, x) => affine(x, p.W as Tensor2D, p.b as Tensor1D), // [N,In]·[In,4H] + b
  prepare: (p) => prepared(p.U as Tensor2D),
  recur(_p, prep, _o, state, xw) {
    if (!state.c) throw new Error("The LSTM state needs its cell c");
    if (canFuse()) return fusedLstmStep(xw, tf.matMul(state.h, prep.U), state.c);
    const g4 = tf.add(xw, matMul(state.h, prep.U, prep.UT)); // [B,4H]
    const [i, f, g, o] = tf.split(g4, 4, 1) as [Tensor2D, Tensor2D, Tensor2D, Tensor2D];
    const c = tf.add(tf.mul(tf.sigmoid(f), state.c), tf.mul(tf.sigmoid(i), tf.tanh(g))) as Tensor2D;
    const h = tf.mul(tf.sigmoid(o), tf.tanh(c)) as Tensor2D;
    return { h, c };
  },
};
