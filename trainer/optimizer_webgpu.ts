/**
 * `applyStepOnDevice` on webgpu with the fused kernels: the global norm (adam_webgpu.ts),
 * each ordinary parameter's clipped Adam or SGD step, and the orthogonal step of every
 * matrix of one size together (expm_webgpu.ts). The same step as optimizer.ts's composed ops,
 * which every other backend runs; about 3 dispatches per parameter and 2k + 8 for k
 * orthogonal matrices, where the composed ops take about 14 per parameter and 60 or more
 * for the matrices. A unitary matrix ([Re | Im], a complex cell's) takes the same kernel on its
 * real block φ(W), with its Adam direction's block built from the moments' blocks: Adam's
 * direction is elementwise, d(m, v) = m̂/(√v̂ + ε), so φ(d(m, v)) = d(φ(m), |φ|(v)), where
 * |φ|(v) places v without the sign φ gives the lower-left block.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor, Variable } from "../shared/tf.ts";
import { adamMomentsWebGpu, adamWebGpu, globalNormWebGpu, sgdWebGpu } from "./adam_webgpu.ts";
import { orthStepWebGpu } from "./expm_webgpu.ts";
import type { Tensor2D } from "../shared/tf.ts";
import { complexBlockWebGpu, fromComplexBlockWebGpu } from "./complex_block_webgpu.ts";

/** The parts of optimizer.ts's OptimizerConfig and OptState the step reads (no import back). */
interface StepConfig {
  kind: "sgd" | "adam";
  orthKind: "sgd" | "adam";
  beta1: number;
  beta2: number;
  eps: number;
  clip: number;
}
interface Moments {
  step: number;
  m: Record<string, Tensor>;
  v: Record<string, Tensor>;
}

/** One step in place after `st.step` has moved on; returns ‖g‖ before clipping, kept. */
export function applyStepWebGpu(
  vars: Record<string, Variable>,
  grads: Record<string, Tensor>,
  orthogonal: ReadonlySet<string>,
  c: StepConfig,
  st: Moments,
  lr: number,
  lrOrth: number,
  unitary: ReadonlySet<string> = new Set(),
): Tensor {
  const names = Object.keys(vars).filter((name) => grads[name]);
  const norm = tf.keep(globalNormWebGpu(names.map((n) => grads[n]!)));
  const clip = Math.max(0, c.clip);
  const adam = {
    beta1: c.beta1,
    beta2: c.beta2,
    eps: c.eps,
    clip,
    bc1: 1 - c.beta1 ** st.step,
    bc2: 1 - c.beta2 ** st.step,
  };
  /** The new moments replace the old in `st`. */
  const moments = (name: string, next: { m: Tensor; v: Tensor }) => {
    st.m[name]?.dispose();
    st.v[name]?.dispose();
    st.m[name] = tf.keep(next.m);
    st.v[name] = tf.keep(next.v);
  };
  const old = (name: string) => ({
    m: st.m[name] ?? tf.zerosLike(grads[name]!),
    v: st.v[name] ?? tf.zerosLike(grads[name]!),
  });
  tf.tidy(() => {
    const groups = new Map<string, string[]>();
    for (const name of names) {
      const v = vars[name]!, g = grads[name]!;
      if (orthogonal.has(name) || unitary.has(name)) {
        const key = `${v.shape.join("x")}${unitary.has(name) ? " unitary" : ""}`;
        groups.set(key, [...(groups.get(key) ?? []), name]);
      } else if (c.kind === "adam") {
        const { m: m0, v: v0 } = old(name);
        const next = adamWebGpu(v, g, m0, v0, norm, { ...adam, lr });
        moments(name, next);
        v.assign(next.w);
      } else {
        v.assign(sgdWebGpu(v, g, norm, clip, lr));
      }
    }
    for (const group of groups.values()) {
      const complex = unitary.has(group[0]!);
      const block = (t: Tensor) => complex ? complexBlockWebGpu(t as Tensor2D) : t;
      const ws = group.map((n) => block(vars[n]!));
      let d: Parameters<typeof orthStepWebGpu>[1];
      if (c.orthKind === "adam") {
        for (const name of group) {
          const { m: m0, v: v0 } = old(name);
          moments(name, adamMomentsWebGpu(grads[name]!, m0, v0, norm, adam));
        }
        d = {
          m: group.map((n) => block(st.m[n]!)),
          v: group.map((n) => complex ? complexBlockWebGpu(st.v[n]! as Tensor2D, 1) : st.v[n]!),
        };
      } else {
        d = { g: group.map((n) => block(grads[n]!)), norm };
      }
      const out = orthStepWebGpu(ws, d, { ...adam, lrOrth });
      group.forEach((n, i) =>
        vars[n]!.assign(complex ? fromComplexBlockWebGpu(out[i]! as Tensor2D) : out[i]!)
      );
    }
  });
  return norm;
}
