/**
 * One optimizer step over all parameters: global-norm clipping, then
 * - orthogonal parameters (declared by the cells): W ← exp(−η_orth·A)·W (see orthogonal.ts),
 *   with D = G (sgd) or Adam's m̂/(√v̂+ε) of G (adam), as in expRNN/geotorch practice;
 * - unitary parameters (complex, [Re | Im]): the same step on their real block φ(W) with
 *   direction φ(D), which is the complex step with a skew-Hermitian A (see unitary.ts);
 * - the rest: plain SGD or Adam.
 * Moments live in `OptState` so checkpoints can save and restore them exactly. On webgpu the
 * device-planned step runs as fused kernels (optimizer_webgpu.ts), the same step in a tenth
 * of the dispatches; the tfjs ops here are its reference and every other backend's path.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Tensor3D, Variable } from "../shared/tf.ts";
import { expmTimes, expmTimesOnDevice } from "./expm.ts";
import { skewGenerator } from "./orthogonal.ts";
import { applyStepWebGpu } from "./optimizer_webgpu.ts";
import { complexBlock, fromComplexBlock } from "../shared/cells/complex.ts";

export type OptimizerKind = "sgd" | "adam";

export interface OptimizerConfig {
  kind: OptimizerKind;
  orthKind: OptimizerKind;
  beta1: number;
  beta2: number;
  eps: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  clip: number;
  /**
   * Where the matrix exponential's plan is made: "host" reads ‖ηA‖₁ of every generator
   * (one read per step, exact plan: the fewest products), "device" decides the scaling on
   * the device (no read; more products; expm.ts). Default "host"; the trainer takes
   * "device" on webgpu, where a read waits for the GPU.
   */
  expmPlan?: "host" | "device";
  /**
   * On webgpu with the device plan, run the step as the fused kernels of
   * optimizer_webgpu.ts (default true) rather than tfjs's ops; other backends ignore it.
   */
  fused?: boolean;
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

/** The exponential's plan for the current backend: on webgpu a read waits for the GPU. */
export function defaultExpmPlan(): "host" | "device" {
  return tf.getBackend() === "webgpu" ? "device" : "host";
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

/** The matrix a rotating parameter moves on: itself, or a unitary one's real block φ(W). */
function onGroup(v: Tensor, isUnitary: boolean): Tensor2D {
  return isUnitary ? complexBlock(v as Tensor2D) : (v as Tensor2D);
}

/** Store a rotated matrix: itself, or [Re | Im] read back from a unitary one's block. */
function assignFromGroup(v: Variable, m: Tensor2D, isUnitary: boolean): void {
  v.assign(isUnitary ? fromComplexBlock(m) : m);
}

/**
 * W_i ← exp(A_i)·W_i for every orthogonal (or unitary, as blocks) matrix, with the exponential
 * planned on the device: matrices of one shape go through it as one stack, so each product of
 * the Taylor polynomial is one batched dispatch for all of them (a uGRU's three).
 */
function rotateTogether(ws: Variable[], generators: Tensor[], unitary: boolean[]) {
  const groups = new Map<string, number[]>();
  generators.forEach((a, i) => {
    const key = `${a.shape.join("x")}${unitary[i] ? "c" : ""}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const idx of groups.values()) {
    tf.tidy(() => {
      const blocks = idx.map((i) => onGroup(ws[i]!, unitary[i]!));
      if (idx.length === 1) {
        const i = idx[0]!;
        const m = expmTimesOnDevice(generators[i] as Tensor2D, blocks[0]!);
        assignFromGroup(ws[i]!, m, unitary[i]!);
        return;
      }
      const a = tf.stack(idx.map((i) => generators[i]!)) as Tensor3D; // [k,H,H]
      const w = tf.stack(blocks) as Tensor3D; // [k,H,H]
      const out = tf.unstack(expmTimesOnDevice(a, w));
      idx.forEach((i, j) => assignFromGroup(ws[i]!, out[j]! as Tensor2D, unitary[i]!));
    });
  }
}

/**
 * Apply one step in place (variables are assigned). Returns the gradient norm before clipping.
 * `lr` applies to ordinary parameters, `lrOrth` to the orthogonal ones. The same step as
 * `applyStepOnDevice`, with the norm read back.
 */
export async function applyStep(
  vars: Record<string, Variable>,
  grads: Record<string, Tensor>,
  orthogonal: ReadonlySet<string>,
  c: OptimizerConfig,
  st: OptState,
  lr: number,
  lrOrth: number,
  unitary: ReadonlySet<string> = new Set(),
): Promise<number> {
  const norm = await applyStepOnDevice(vars, grads, orthogonal, c, st, lr, lrOrth, unitary);
  const value = (await norm.data())[0]!;
  norm.dispose();
  return value;
}

/**
 * One step in place, returning the gradient norm before clipping as a kept scalar tensor
 * (the caller disposes it) so that a caller that logs every N steps reads it only then.
 *
 * Clipping, Adam's moments and the generators stay on the device. With `expmPlan: "device"`
 * nothing is read back: on a GPU every read is a round trip that waits for all queued work.
 * With "host" the generators' 1-norms (the exponential's plan needs them) come back in one
 * read however many orthogonal matrices there are. `unitary` names the complex matrices (cells'
 * `unitary`), which take `lrOrth` too.
 */
export async function applyStepOnDevice(
  vars: Record<string, Variable>,
  grads: Record<string, Tensor>,
  orthogonal: ReadonlySet<string>,
  c: OptimizerConfig,
  st: OptState,
  lr: number,
  lrOrth: number,
  unitary: ReadonlySet<string> = new Set(),
): Promise<Tensor> {
  st.step++;
  const onDevice = c.expmPlan === "device";
  if (onDevice && c.fused !== false && tf.getBackend() === "webgpu") {
    return applyStepWebGpu(vars, grads, orthogonal, c, st, lr, lrOrth, unitary);
  }
  const names = Object.keys(vars).filter((name) => grads[name]);
  const orth = names.filter((name) => orthogonal.has(name) || unitary.has(name));
  const isUnitary = orth.map((name) => unitary.has(name));
  // Device: the clipped gradients, Adam moments and generators A = −η·(D·Wᵀ − W·Dᵀ).
  const { clipped, generators, norm, oneNorms } = tf.tidy(() => {
    const norm = globalNormTensor(Object.fromEntries(names.map((n) => [n, grads[n]!])));
    const scale = c.clip > 0 ? tf.minimum(tf.div(c.clip, norm), 1) : undefined;
    // Without clipping these are the caller's gradients themselves (not disposed here).
    const clipped = Object.fromEntries(
      names.map((n) => [n, scale ? tf.keep(tf.mul(grads[n]!, scale)) : grads[n]!]),
    );
    const generators = orth.map((n, i) => {
      const d = c.orthKind === "adam" ? adamDirection(n, clipped[n]!, st, c) : clipped[n]!;
      const u = isUnitary[i]!;
      return tf.keep(tf.mul(skewGenerator(onGroup(vars[n]!, u), onGroup(d, u)), -lrOrth));
    });
    const oneNorms = onDevice || orth.length === 0
      ? undefined
      : tf.keep(tf.stack(generators.map((a) => tf.max(tf.sum(tf.abs(a), 0)))));
    return { clipped, generators, norm: tf.keep(norm), oneNorms };
  });
  const plans = oneNorms ? await oneNorms.data() : undefined; // [‖A_1‖₁, …]
  if (onDevice && orth.length > 0) {
    rotateTogether(orth.map((n) => vars[n]!), generators, isUnitary);
  }
  for (const name of names) {
    const v = vars[name]!;
    tf.tidy(() => {
      const i = orth.indexOf(name);
      if (i >= 0) {
        if (plans) {
          const u = isUnitary[i]!;
          assignFromGroup(v, expmTimes(generators[i]! as Tensor2D, onGroup(v, u), plans[i]!), u);
        }
      } else if (c.kind === "adam") {
        v.assign(tf.sub(v, tf.mul(adamDirection(name, clipped[name]!, st, c), lr)));
      } else {
        v.assign(tf.sub(v, tf.mul(clipped[name]!, lr)));
      }
    });
  }
  tf.dispose([...(oneNorms ? [oneNorms] : []), ...generators]);
  if (c.clip > 0) tf.dispose(Object.values(clipped));
  return norm;
}
