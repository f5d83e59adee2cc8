/**
 * One optimizer step over all parameters: global-norm clipping, then
 * - orthogonal parameters (declared by the cells): W ← exp(−η_orth·A)·W (see orthogonal.ts),
 *   with D = G (sgd) or Adam's m̂/(√v̂+ε) of G (adam), as in expRNN/geotorch practice;
 * - the rest: plain SGD or Adam.
 * Moments live in `OptState` so checkpoints can save and restore them exactly.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../shared/tf.ts";
import { expmTimes } from "./expm.ts";
import { skewGenerator } from "./orthogonal.ts";

export type OptimizerKind = "sgd" | "adam";

export interface OptimizerConfig {
  kind: OptimizerKind;
  orthKind: OptimizerKind;
  beta1: number;
  beta2: number;
  eps: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  clip: number;
}

/** Adam's moment decays and ε, as in Kingma & Ba (2015). */
export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

export interface OptState {
  step: number;
  m: Record<string, Tensor>;
  v: Record<string, Tensor>;
}

export function initOptState(): OptState {
  return { step: 0, m: {}, v: {} };
}

/** ‖g‖ over all gradients, on the device. */
function globalNormTensor(grads: Record<string, Tensor>): Tensor {
  return tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
}

function adamDirection(
  name: string,
  g: Tensor,
  st: OptState,
  c: OptimizerConfig,
): Tensor {
  const m0 = st.m[name] ?? tf.zerosLike(g);
  const v0 = st.v[name] ?? tf.zerosLike(g);
  const m = tf.keep(tf.add(tf.mul(m0, c.beta1), tf.mul(g, 1 - c.beta1)));
  const v = tf.keep(tf.add(tf.mul(v0, c.beta2), tf.mul(tf.square(g), 1 - c.beta2)));
  m0.dispose();
  v0.dispose();
  st.m[name] = m;
  st.v[name] = v;
  const bc1 = 1 - c.beta1 ** st.step, bc2 = 1 - c.beta2 ** st.step;
  return tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), c.eps));
}

/**
 * Apply one step in place (variables are assigned). Returns the gradient norm before clipping.
 * `lr` applies to ordinary parameters, `lrOrth` to the orthogonal ones.
 *
 * The clipping scale stays on the device, and the gradient norm and each orthogonal
 * generator's 1-norm (the matrix exponential's plan needs it) come back to the host in one
 * read: on a GPU every read is a round trip that waits for all queued work, so a step makes
 * one however many parameters there are.
 */
export async function applyStep(
  vars: Record<string, Variable>,
  grads: Record<string, Tensor>,
  orthogonal: ReadonlySet<string>,
  c: OptimizerConfig,
  st: OptState,
  lr: number,
  lrOrth: number,
): Promise<number> {
  st.step++;
  const names = Object.keys(vars).filter((name) => grads[name]);
  const orth = names.filter((name) => orthogonal.has(name));
  // Device: the clipped gradients, Adam moments and generators A = −η·(D·Wᵀ − W·Dᵀ).
  const { clipped, generators, norms } = tf.tidy(() => {
    const norm = globalNormTensor(Object.fromEntries(names.map((n) => [n, grads[n]!])));
    const scale = c.clip > 0 ? tf.minimum(tf.div(c.clip, norm), 1) : undefined;
    // Without clipping these are the caller's gradients themselves (not disposed here).
    const clipped = Object.fromEntries(
      names.map((n) => [n, scale ? tf.keep(tf.mul(grads[n]!, scale)) : grads[n]!]),
    );
    const generators = orth.map((n) => {
      const d = c.orthKind === "adam" ? adamDirection(n, clipped[n]!, st, c) : clipped[n]!;
      return tf.keep(tf.mul(skewGenerator(vars[n] as Tensor2D, d as Tensor2D), -lrOrth));
    });
    const oneNorms = generators.map((a) => tf.max(tf.sum(tf.abs(a), 0)));
    return { clipped, generators, norms: tf.keep(tf.stack([norm, ...oneNorms])) };
  });
  const values = await norms.data(); // [‖g‖, ‖A_1‖₁, …]
  for (const name of names) {
    const v = vars[name]!;
    tf.tidy(() => {
      const i = orth.indexOf(name);
      if (i >= 0) {
        v.assign(expmTimes(generators[i]! as Tensor2D, v as Tensor2D, values[i + 1]!));
      } else if (c.kind === "adam") {
        v.assign(tf.sub(v, tf.mul(adamDirection(name, clipped[name]!, st, c), lr)));
      } else {
        v.assign(tf.sub(v, tf.mul(clipped[name]!, lr)));
      }
    });
  }
  tf.dispose([norms, ...generators, ...(c.clip > 0 ? Object.values(clipped) : [])]);
  return values[0]!;
}
