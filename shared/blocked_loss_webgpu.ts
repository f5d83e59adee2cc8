/**
 * blocked_loss.ts's output layer and loss on webgpu, in fewer dispatches: per block of rows,
 * the logits as one fused product (bias included), then two WGSL kernels where tfjs runs
 * about fifteen small ops — the rows' log-sum-exp and loss (a workgroup per row), and
 * ∂L/∂z = (softmax − onehot)/N — then ∂h, ∂W (accumulated through the product's bias) and
 * ∂b (a column sum that adds the previous blocks'), and one sum for the loss. The output
 * matrix is read in either layout, so a tied model's embedding [V,H] is used as it is:
 * no transpose dispatched forward or back. The same values and gradients as
 * `blockedCrossEntropy` (blocked_loss_webgpu_test.ts), which every other backend runs.
 */
import { tf } from "./tf.ts";
import type { Tensor, Tensor1D, Tensor2D } from "./tf.ts";
import type { KernelArgs, TensorInfo } from "./wasm_kernels.ts";
import { blockRows } from "./blocked_loss.ts";
import { dispatch, lit, type Program, touch } from "./webgpu_program.ts";
import { sumRanges } from "./webgpu_reduce.ts";

/** The output matrix as [H,V] (untied `output/W`) or [V,H] (a tied embedding). */
export type OutputLayout = "HV" | "VH";

const ROWS = "RotorLossRows", GRAD = "RotorLossGrad", COLSUM = "RotorColumnSum";
const TOTAL = "RotorLossTotal";
const THREADS = 256;

/** Per row i of z [r,V]: result[i] = lse_i, result[r + i] = lse_i − z[i, y[start + i]]. */
function rowsProgram(r: number, v: number): Program {
  const names = ["z", "y"];
  return {
    key: `lossrows_${r}_${v}`,
    names,
    threads: r * THREADS,
    workgroup: THREADS,
    uniforms: "start : i32,",
    code: `var<workgroup> red : array<f32, ${THREADS}>;
    fn main(index : i32) {
      ${touch(names)}
      // Every thread of a workgroup has the same row; surplus workgroups recompute the last.
      let row = min(index / ${THREADS}, ${r - 1});
      let t = i32(localIndex);
      let base = row * ${v};
      var mx = -3.4028234e38;
      for (var c = t; c < ${v}; c += ${THREADS}) { mx = max(mx, z[base + c]); }
      red[t] = mx;
      workgroupBarrier();
      for (var w = ${THREADS / 2}; w > 0; w = w / 2) {
        if (t < w) { red[t] = max(red[t], red[t + w]); }
        workgroupBarrier();
      }
      let m = red[0];
      workgroupBarrier();
      var s = 0.0;
      for (var c = t; c < ${v}; c += ${THREADS}) { s += exp(z[base + c] - m); }
      red[t] = s;
      workgroupBarrier();
      for (var w = ${THREADS / 2}; w > 0; w = w / 2) {
        if (t < w) { red[t] += red[t + w]; }
        workgroupBarrier();
      }
      if (t == 0) {
        let lse = m + log(red[0]);
        result[row] = lse;
        result[${r} + row] = lse - z[base + y[uniforms.start + row]];
      }
    }`,
  };
}

/** ∂L/∂z = (exp(z − lse) − onehot(y)) / n of z [r,V]. */
function gradProgram(r: number, v: number, n: number): Program {
  const names = ["z", "stats", "y"];
  return {
    key: `lossgrad_${r}_${v}_${n}`,
    names,
    threads: r * v,
    uniforms: "start : i32,",
    code: `fn main(index : i32) {
      ${touch(names)}
      if (index >= ${r * v}) { return; }
      let i = index / ${v};
      let c = index - i * ${v};
      let hot = select(0.0, 1.0, y[uniforms.start + i] == c);
      result[index] = (exp(z[index] - stats[i]) - hot) * ${lit(1 / n)};
    }`,
  };
}

/** Σ over the rows of x [r,V] (plus prev [V]). */
function colsumProgram(r: number, v: number, prev: boolean): Program {
  const names = ["x", ...(prev ? ["prev"] : [])];
  return {
    key: `colsum_${r}_${v}_${prev}`,
    names,
    threads: v,
    code: `fn main(index : i32) {
      ${touch(names)}
      if (index >= ${v}) { return; }
      var s = 0.0;
      for (var i = 0; i < ${r}; i++) { s += x[i * ${v} + index]; }
      result[index] = s${prev ? " + prev[index]" : ""};
    }`,
  };
}

const size = (t: TensorInfo) => tf.util.sizeFromShape(t.shape);

const KERNELS: Record<string, (a: KernelArgs) => TensorInfo> = {
  [ROWS]({ inputs, attrs, backend }) {
    const { z, y } = inputs as Record<string, TensorInfo>;
    const [r, v] = z!.shape as [number, number];
    const start = [{ type: "int32" as const, data: [attrs!.start as number] }];
    return dispatch(backend, rowsProgram(r, v), [z!, y!], 2 * r, start);
  },
  [GRAD]({ inputs, attrs, backend }) {
    const { z, stats, y } = inputs as Record<string, TensorInfo>;
    const [r, v] = z!.shape as [number, number];
    const p = gradProgram(r, v, attrs!.n as number);
    const start = [{ type: "int32" as const, data: [attrs!.start as number] }];
    return { ...dispatch(backend, p, [z!, stats!, y!], r * v, start), shape: [r, v] };
  },
  [COLSUM]({ inputs, backend }) {
    const { x, prev } = inputs as Record<string, TensorInfo>;
    const [r, v] = x!.shape as [number, number];
    return dispatch(backend, colsumProgram(r, v, !!prev), prev ? [x!, prev] : [x!], v);
  },
  [TOTAL]({ inputs, attrs, backend }) {
    // Each block's stats hold r lse values, then the r row losses.
    const ranges = Object.values(inputs).map((x) => ({
      x,
      offset: size(x) / 2,
      length: size(x) / 2,
    }));
    const out = sumRanges(backend, ranges, { scale: 1 / (attrs!.n as number) });
    return { ...out, shape: [] };
  },
};

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  for (const [kernelName, f] of Object.entries(KERNELS)) {
    tf.registerKernel({
      kernelName,
      backendName: "webgpu",
      kernelFunc: f as unknown as tf.KernelFunc,
    });
  }
}

const run = (name: string, inputs: Record<string, Tensor>, attrs: object = {}) =>
  tf.engine().runKernel(
    name,
    inputs as unknown as tf.NamedTensorMap,
    attrs as unknown as tf.NamedAttrMap,
  ) as Tensor;

/**
 * Mean over rows of −log softmax(h·W + b)[target] on webgpu: h [N,H], w [H,V] ("HV") or
 * [V,H] ("VH"), b [V], targets [N] int32 → scalar, with its gradient for h, w and b.
 */
export function blockedCrossEntropyWebGpu(
  h: Tensor2D,
  w: Tensor2D,
  layout: OutputLayout,
  b: Tensor1D,
  targets: Tensor1D,
  rows = blockRows(layout === "HV" ? w.shape[1] : w.shape[0]),
): Tensor {
  if (!Number.isInteger(rows) || rows < 1) {
    throw new Error(`Block rows must be a positive integer, got "${rows}"`);
  }
  install();
  const [n] = h.shape;
  const vh = layout === "VH";
  const withGrads = tf.engine().isTapeOn();
  const f = tf.customGrad(
    ((hh: Tensor2D, ww: Tensor2D, bb: Tensor1D, save: (t: Tensor[]) => void) => {
      const stats: Tensor[] = [], dh: Tensor2D[] = [];
      let dw: Tensor2D | undefined, db: Tensor | undefined;
      for (let start = 0; start < n; start += rows) {
        const r = Math.min(rows, n - start);
        const hb = r === n ? hh : tf.slice(hh, [start, 0], [r, -1]) as Tensor2D; // [r,H]
        const z = tf.fused.matMul({ a: hb, b: ww, transposeB: vh, bias: bb }); // [r,V]
        const s = run(ROWS, { z, y: targets }, { start }); // [2r]: lse, then the row losses
        stats.push(s);
        if (!withGrads) continue;
        const dz = run(GRAD, { z, stats: s, y: targets }, { start, n }) as Tensor2D; // [r,V]
        dh.push(vh ? tf.matMul(dz, ww) : tf.matMul(dz, ww, false, true)); // [r,H]
        // ∂W += hbᵀ·dz [H,V] or dzᵀ·hb [V,H], the earlier blocks' sum as the product's bias.
        const [a, bm] = vh ? [dz, hb] : [hb, dz];
        dw = tf.fused.matMul({
          a,
          b: bm,
          transposeA: true,
          ...(dw ? { bias: dw } : {}),
        }) as Tensor2D;
        db = run(COLSUM, db ? { x: dz, prev: db } : { x: dz }); // [V]
      }
      const value = run(TOTAL, Object.fromEntries(stats.map((s, i) => [`s${i}`, s])), { n });
      if (withGrads) {
        save([dh.length === 1 ? dh[0]! : tf.concat(dh, 0), dw!, db!]);
      }
      return {
        value,
        gradFunc: (dy: Tensor, saved: Tensor[]) => saved.map((g) => tf.mul(g, dy)),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return (f as unknown as (...xs: Tensor[]) => Tensor)(h, w, b);
}
