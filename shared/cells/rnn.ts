/**
 * Elman RNN and uRNN: h' = σ(x·W + b + h·U). The uRNN keeps U orthogonal (Arjovsky et al.
 * 2016; here the real orthogonal variant of the poster behind rotor), so ‖h·U‖ = ‖h‖.
 */
import { tf } from "../tf.ts";
import type { Tensor1D, Tensor2D } from "../tf.ts";
import { activate } from "../activations.ts";
import { affine, matMul } from "../ops.ts";
import { canFuse, fusedRnnStep } from "../fused_cells.ts";
import { recurrentMatrix, uniform } from "../orthogonal_init.ts";
import { prepared } from "./prepared.ts";
import type { CellDef } from "./types.ts";

function makeRnn(orthogonal: boolean): CellDef {
  return {
    family: "rnn",
    gates: 1,
    hasCell: false,
    orthogonal: orthogonal ? ["U"] : [],
    unitary: [],
    shapes: (o) => ({
      W: [o.inSize, o.hidden],
      U: [o.hidden, o.hidden],
      b: [o.hidden],
      ...(o.activation === "modrelu" ? { b_mod: [o.hidden] } : {}),
    }),
    init(name, shape, o, prng) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (name === "U") return recurrentMatrix(o.recurrentInit, o.hidden, prng);
      if (name === "W") return uniform(size, 1 / Math.sqrt(o.hidden), prng);
      if (name === "b_mod") return uniform(size, 0.01, prng);
      return new Float32Array(size);
    },
    project: (p, x) => affine(x, p.W as Tensor2D, p.b as Tensor1D), // [N,In]·[In,H] + b → [N,H]
    prepare: (p) => prepared(p.U as Tensor2D),
    recur(p, prep, o, state, xw) {
      const act = { slope: o.leakySlope, bMod: p.b_mod as Tensor1D };
      if (canFuse()) return { h: fusedRnnStep(xw, tf.matMul(state.h, prep.U), o.activation, act) };
      const z = tf.add(xw, matMul(state.h, prep.U, prep.UT)); // [B,H] + [B,H]·[H,H]
      const h = activate(o.activation, z, act) as Tensor2D;
      return { h };
    },
  };
}

export const rnn: CellDef = makeRnn(false);
export const urnn: CellDef = makeRnn(true);
