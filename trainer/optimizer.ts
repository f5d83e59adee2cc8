/**
 * One optimizer step over all parameters: global-norm clipping, then
 * - orthogonal parameters (declared by the cells): W ← exp(−η_orth·A)·W (see orthogonal.ts),
 *   with D = G (sgd) or Adam's m̂/(√v̂+ε) of G (adam), as in expRNN/geotorch practice;
 * - the rest: plain SGD or Adam.
 * Moments live in `OptState` so checkpoints can save and restore them exactly.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../shared/tf.ts";
import { rotate } from "./orthogonal.ts";

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

/** ‖g‖ over all gradients. */
export function globalNorm(grads: Record<string, Tensor>): number {
  return tf.tidy(() => {
    const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return Math.sqrt(tf.addN(sq).dataSync()[0]!);
  });
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
 */
export function applyStep(
  vars: Record<string, Variable>,
  grads: Record<string, Tensor>,
  orthogonal: ReadonlySet<string>,
  c: OptimizerConfig,
  st: OptState,
  lr: number,
  lrOrth: number,
): number {
  const norm = globalNorm(grads);
  const scale = c.clip > 0 && norm > c.clip ? c.clip / norm : 1;
  st.step++;
  for (const [name, v] of Object.entries(vars)) {
    const g0 = grads[name];
    if (!g0) continue;
    tf.tidy(() => {
      const g = scale === 1 ? g0 : tf.mul(g0, scale);
      if (orthogonal.has(name)) {
        const d = c.orthKind === "adam" ? adamDirection(name, g, st, c) : g;
        v.assign(rotate(v as Tensor2D, d as Tensor2D, lrOrth));
      } else if (c.kind === "adam") {
        v.assign(tf.sub(v, tf.mul(adamDirection(name, g, st, c), lr)));
      } else {
        v.assign(tf.sub(v, tf.mul(g, lr)));
      }
    });
  }
  return norm;
}
