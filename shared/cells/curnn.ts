/**
 * cuRNN: the complex unitary RNN (Arjovsky et al. 2016; full-capacity W as in Wisdom et al.
 * 2016):  h' = σ(x·W + b + h·U),  h ∈ ℂ^H,  U ∈ U(H) kept unitary by the optimizer.
 *
 * Stored as reals (complex.ts): the state is [B, 2H] = [Re h | Im h], so the model's
 * hiddenSize is 2H and the read-out sees [Re h, Im h] like any other state; W [In, 2H] and
 * b [2H] give the complex input term's real and imaginary parts; U is [H, 2H] = [Re U | Im U].
 * σ is complex modReLU (phase kept, modulus thresholded by b_mod [H]) for "modrelu"; the other
 * activations act on the real and imaginary parts separately ("split" activations), which
 * does not keep the phase.
 */
import { tf } from "../tf.ts";
import type { Tensor1D, Tensor2D } from "../tf.ts";
import { activate } from "../activations.ts";
import { matMul } from "../ops.ts";
import { uniform } from "../orthogonal_init.ts";
import { canFuse, fusedComplexModRelu, fusedRnnStep } from "../fused_cells.ts";
import { unitaryMatrix } from "../unitary_init.ts";
import { complexBlock, complexModRelu, complexUnits } from "./complex.ts";
import type { CellDef } from "./types.ts";

export const curnn: CellDef = {
  // The recurrence op runs it as h' = σ(xw + h·φ(U)) over [Re | Im] (shared/recurrence/).
  family: "crnn",
  gates: 1,
  hasCell: false,
  orthogonal: [],
  unitary: ["U"],
  shapes: (o) => {
    const h = complexUnits(o.hidden);
    return {
      W: [o.inSize, 2 * h],
      U: [h, 2 * h],
      b: [2 * h],
      ...(o.activation === "modrelu" ? { b_mod: [h] } : {}),
    };
  },
  init(name, shape, o, prng) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (name === "U") return unitaryMatrix(o.recurrentInit, complexUnits(o.hidden), prng);
    if (name === "W") return uniform(size, 1 / Math.sqrt(o.hidden), prng);
    if (name === "b_mod") return uniform(size, 0.01, prng);
    return new Float32Array(size);
  },
  project: (p, x) => tf.add(matMul(x, p.W as Tensor2D), p.b!) as Tensor2D, // [N,In]·[In,2H]
  prepare(p) {
    const U = complexBlock(p.U as Tensor2D); // [2H,2H]
    return { U, UT: tf.transpose(U) };
  },
  recur(p, prep, o, state, xw) {
    if (canFuse()) {
      const hu = tf.matMul(state.h, prep.U) as Tensor2D; // [B,2H]·[2H,2H]
      // The split activations are the real cells' elementwise kernel over [Re | Im].
      return {
        h: o.activation === "modrelu"
          ? fusedComplexModRelu(xw, hu, p.b_mod as Tensor1D)
          : fusedRnnStep(xw, hu, o.activation, { slope: o.leakySlope }),
      };
    }
    const z = tf.add(xw, matMul(state.h, prep.U, prep.UT)) as Tensor2D; // [B,2H] + [B,2H]·[2H,2H]
    const h = o.activation === "modrelu"
      ? complexModRelu(z, p.b_mod as Tensor1D)
      : activate(o.activation, z, { slope: o.leakySlope }) as Tensor2D;
    return { h };
  },
};
