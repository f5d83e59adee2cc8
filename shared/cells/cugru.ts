/**
 * cuGRU: a GRU over a complex state h ∈ ℂ^H with unitary recurrent matrices U_r, U_z, U_n ∈ U(H):
 *   r  = σ(xr + Re(h·U_r))                       real, [B, H]
 *   z  = σ(xz + Re(h·U_z))                       real, [B, H]
 *   n  = ctanh(xn + r ⊙ (h·U_n + c_n))           complex; ctanh(v) = v/|v| · tanh(|v|)
 *   h' = (1 − z) ⊙ n + z ⊙ h                     r and z scale Re and Im alike
 *
 * Why the gates are real: a sigmoid of a complex number is unbounded (poles at iπ(2k+1)) and
 * a complex gate would turn the phase it is meant to keep or forget. A real gate in (0, 1)
 * applied to both parts of a unit scales its modulus and keeps its phase, so h' is a convex
 * combination of n and h in ℂ, as in the real GRU. The gates read [Re h, Im h] through
 * Re(h·U_g) = h_re·X_g − h_im·Y_g, a [2H, H] matrix with orthonormal columns while U_g is
 * unitary: every block stays norm-bounded as the uGRU's orthogonal blocks are, and each has
 * 2H² parameters. The candidate's tanh becomes ctanh for the same reason as modReLU: bounded
 * modulus, phase kept.
 *
 * Stored as reals (complex.ts): state [B, 2H] = [Re h | Im h] (hiddenSize 2H); W [In, 4H] with
 * column blocks r (H) | z (H) | n (2H, Re | Im), b [4H]; U_r, U_z, U_n [H, 2H] = [Re | Im];
 * c_n [2H] = [Re | Im].
 */
import { tf } from "../tf.ts";
import type { Tensor1D, Tensor2D } from "../tf.ts";
import { canFuse, fusedComplexGruStep } from "../fused_cells.ts";
import { matMul } from "../ops.ts";
import { uniform } from "../orthogonal_init.ts";
import { unitaryMatrix } from "../unitary_init.ts";
import { complexBlock, complexTanh, complexUnits, realPartColumns } from "./complex.ts";
import type { CellDef } from "./types.ts";

const BLOCKS = ["U_r", "U_z", "U_n"] as const;

export const cugru: CellDef = {
  // The recurrence op runs it on wasm with U = [Re-part columns of U_r, U_z | φ(U_n)].
  family: "cgru",
  gates: 2,
  hasCell: false,
  orthogonal: [],
  unitary: BLOCKS,
  shapes: (o) => {
    const h = complexUnits(o.hidden);
    return {
      W: [o.inSize, 4 * h],
      b: [4 * h],
      U_r: [h, 2 * h],
      U_z: [h, 2 * h],
      U_n: [h, 2 * h],
      c_n: [2 * h],
    };
  },
  init(name, shape, o, prng) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (name.startsWith("U_")) {
      return unitaryMatrix(o.recurrentInit, complexUnits(o.hidden), prng);
    }
    if (name === "W") return uniform(size, 1 / Math.sqrt(o.hidden), prng);
    return new Float32Array(size);
  },
  project: (p, x) => tf.add(matMul(x, p.W as Tensor2D), p.b!) as Tensor2D, // [N,In]·[In,4H]
  prepare(p) {
    const U = tf.concat([
      realPartColumns(p.U_r as Tensor2D), // [2H,H]
      realPartColumns(p.U_z as Tensor2D), // [2H,H]
      complexBlock(p.U_n as Tensor2D), // [2H,2H]
    ], 1) as Tensor2D; // [2H,4H]
    return { U, UT: tf.transpose(U) };
  },
  recur(p, prep, _o, state, xw) {
    if (canFuse()) {
      const hu = tf.matMul(state.h, prep.U) as Tensor2D; // [B,2H]·[2H,4H]
      return { h: fusedComplexGruStep(xw, hu, state.h, p.c_n as Tensor1D) };
    }
    const h = xw.shape[1] / 4;
    const hu = matMul(state.h, prep.U, prep.UT); // [B,2H]·[2H,4H] → [B,4H]
    const [xr, xz, xn] = tf.split(xw, [h, h, 2 * h], 1) as [Tensor2D, Tensor2D, Tensor2D];
    const [hr, hz, hn] = tf.split(hu, [h, h, 2 * h], 1) as [Tensor2D, Tensor2D, Tensor2D];
    const r = tf.sigmoid(tf.add(xr, hr)); // [B,H]
    const z = tf.sigmoid(tf.add(xz, hz)); // [B,H]
    const r2 = tf.concat([r, r], 1), z2 = tf.concat([z, z], 1); // the same gate on Re and Im
    const n = complexTanh(tf.add(xn, tf.mul(r2, tf.add(hn, p.c_n!))) as Tensor2D); // [B,2H]
    return { h: tf.add(tf.mul(tf.sub(1, z2), n), tf.mul(z2, state.h)) as Tensor2D };
  },
};
