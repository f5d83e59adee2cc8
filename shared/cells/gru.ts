/**
 * GRU and uGRU, gates as in common frameworks (Cho et al. 2014):
 *   r = σ(x·W_r + b_r + h·U_r)
 *   z = σ(x·W_z + b_z + h·U_z)
 *   n = tanh(x·W_n + b_n + r ⊙ (h·U_n + c_n))
 *   h' = (1 − z) ⊙ n + z ⊙ h
 * W = [W_r | W_z | W_n] is one [In, 3H] matrix split at call time. The uGRU keeps each H×H
 * block U_r, U_z, U_n orthogonal.
 */
import { tf } from "../tf.ts";
import type { Tensor1D, Tensor2D } from "../tf.ts";
import { affine, matMul } from "../ops.ts";
import { canFuse, fusedGruStep } from "../fused_cells.ts";
import { recurrentMatrix, uniform } from "../orthogonal_init.ts";
import { prepared } from "./prepared.ts";
import type { CellDef } from "./types.ts";

const BLOCKS = ["U_r", "U_z", "U_n"] as const;

function makeGru(orthogonal: boolean): CellDef {
  return {
    family: "gru",
    gates: 3,
    hasCell: false,
    orthogonal: orthogonal ? BLOCKS : [],
    unitary: [],
    shapes: (o) => ({
      W: [o.inSize, 3 * o.hidden],
      b: [3 * o.hidden],
      U_r: [o.hidden, o.hidden],
      U_z: [o.hidden, o.hidden],
      U_n: [o.hidden, o.hidden],
      c_n: [o.hidden],
    }),
    init(name, shape, o, prng) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (name.startsWith("U_")) return recurrentMatrix(o.recurrentInit, o.hidden, prng);
      if (name === "W") return uniform(size, 1 / Math.sqrt(o.hidden), prng);
      return new Float32Array(size);
    },
    project: (p, x) => affine(x, p.W as Tensor2D, p.b as Tensor1D), // [N,In]·[In,3H] + b
    prepare(p) {
      return prepared(tf.concat(BLOCKS.map((k) => p[k] as Tensor2D), 1) as Tensor2D); // [H,3H]
    },
    recur(p, prep, _o, state, xw) {
      if (canFuse()) {
        return { h: fusedGruStep(xw, tf.matMul(state.h, prep.U), state.h, p.c_n as Tensor1D) };
      }
      const hu = matMul(state.h, prep.U, prep.UT); // [B,H]·[H,3H] → [B,3H]
      const [xr, xz, xn] = tf.split(xw, 3, 1) as [Tensor2D, Tensor2D, Tensor2D];
      const [hr, hz, hn] = tf.split(hu, 3, 1) as [Tensor2D, Tensor2D, Tensor2D];
      const r = tf.sigmoid(tf.add(xr, hr));
      const z = tf.sigmoid(tf.add(xz, hz));
      const n = tf.tanh(tf.add(xn, tf.mul(r, tf.add(hn, p.c_n!))));
      const h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, state.h)) as Tensor2D;
      return { h };
    },
  };
}

export const gru: CellDef = makeGru(false);
export const ugru: CellDef = makeGru(true);
