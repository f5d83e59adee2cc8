/**
 * The orthogonal step W ← exp(−η·A)·W, A = D·Wᵀ − W·Dᵀ (orthogonal.ts), on webgpu as one
 * kernel of 2k + 8 dispatches for k matrices of one size, where tfjs's ops dispatch about
 * sixty for the stack and a dozen per matrix around it (expm.ts's `expmTimesOnDevice`, the
 * composed reference and the path of every other backend):
 *
 * - the generator of each matrix, with Adam's direction D = m̂/(√v̂+ε) (or the clipped
 *   gradient, for SGD) formed inside the product, written already scaled, X = −η·A/2^S;
 * - F = exp(X) − I by its degree-12 Taylor polynomial in the Paterson–Stockmeyer form:
 *   X², then X³ and X⁴ together, then F = B₀ + X⁴·(B₁ + X⁴·B₂) with the blocks B_i (sums of
 *   I, X, X², X³, X⁴) formed inside the two products: 4 dispatches where Horner takes 11;
 * - all S = 4 squarings, F ← 2F + F² (the device plan of expm.ts with ‖A‖₁ ≤ 2^S, without its
 *   mask: scaling a small A by 2^−S too only adds squarings, each exact to float32 in F);
 * - W' = W + F·W for each matrix.
 *
 * Nothing is read back. Products are one thread per output element, each a length-n dot
 * product: the kernel's point is its number of dispatches, the figure that sets a small
 * model's step time on a GPU.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor } from "../shared/tf.ts";
import type { KernelArgs, TensorInfo } from "../shared/wasm_kernels.ts";
import {
  dispatch,
  floats,
  lit,
  type Program,
  touch,
  type WebGpuBackend,
} from "../shared/webgpu_program.ts";
import { ADAM_DIRECTION } from "./adam_webgpu.ts";
import { expmPlan } from "./expm.ts";

export const ORTH_STEP = "RotorOrthStep";

/** Squarings, and the Taylor degree that keeps the error below 2⁻²⁶ for ‖X‖₁ ≤ 1. */
export const SQUARINGS = 4;
const DEGREE = expmPlan(2 ** SQUARINGS).degree;
if (DEGREE !== 12) throw new Error(`The blocks below are written for degree 12, not "${DEGREE}"`);

/** 1/j! for j = 0 … 12. */
const C = Array.from({ length: DEGREE + 1 }, (_, j) => {
  let f = 1;
  for (let i = 2; i <= j; i++) f *= i;
  return lit(1 / f);
});

export interface OrthStepAttrs {
  /** Matrices in the stack. */
  count: number;
  /** D: Adam's m̂/(√v̂+ε) from the new moments (inputs m_i, v_i) or the clipped gradient. */
  direction: "adam" | "sgd";
  lrOrth: number;
  bc1: number;
  bc2: number;
  eps: number;
  clip: number;
}

/** Row-major index of (b, r, c) in a stack of n×n matrices, as WGSL. */
const at = (n: number, b: string, r: string, c: string) => `${b} * ${n * n} + ${r} * ${n} + ${c}`;

/** X_b = scale·(D·Wᵀ − W·Dᵀ) written into the stack at matrix `at`. */
function generatorProgram(n: number, direction: OrthStepAttrs["direction"]): Program {
  const names = direction === "adam" ? ["w", "m", "v"] : ["w", "g", "norm"];
  const dir = direction === "adam"
    ? `fn dir(e : i32) -> f32 { return adamDirection(m[e], v[e]); }`
    : `fn dir(e : i32) -> f32 {
        let nrm = norm[0];
        return g[e] * select(1.0, uniforms.clip / nrm, uniforms.clip > 0.0 && nrm > uniforms.clip);
      }`;
  return {
    key: `orthgen_${n}_${direction}`,
    names,
    threads: n * n,
    uniforms: "at : i32, scale : f32, bc1 : f32, bc2 : f32, eps : f32, clip : f32,",
    code: `${direction === "adam" ? ADAM_DIRECTION : ""}
    ${dir}
    fn main(index : i32) {
      ${touch(names)}
      if (index >= ${n * n}) { return; }
      let i = index / ${n};
      let j = index - i * ${n};
      var acc = 0.0;
      for (var k = 0; k < ${n}; k++) {
        acc += dir(i * ${n} + k) * w[j * ${n} + k] - w[i * ${n} + k] * dir(j * ${n} + k);
      }
      result[uniforms.at * ${n * n} + index] = acc * uniforms.scale;
    }`,
  };
}

/**
 * A batched product over `count` matrices: result = epilogue(Σ_k left(b,i,k)·right(b,k,j)),
 * with WGSL helpers X(b,r,c) … for the inputs present.
 */
function productProgram(
  key: string,
  n: number,
  count: number,
  names: string[],
  body: { left: string; right: string; epilogue: string; helpers?: string; uniforms?: string },
): Program {
  return {
    key: `orth${key}_${n}_${count}`,
    names,
    threads: count * n * n,
    uniforms: body.uniforms,
    code: `${body.helpers ?? ""}
    fn main(index : i32) {
      ${touch(names)}
      if (index >= ${count * n * n}) { return; }
      let b = index / ${n * n};
      let rest = index - b * ${n * n};
      let i = rest / ${n};
      let j = rest - i * ${n};
      var acc = 0.0;
      for (var k = 0; k < ${n}; k++) { acc += (${body.left}) * (${body.right}); }
      result[index] = ${body.epilogue};
    }`,
  };
}

/** Helpers reading X, X², X³, X⁴ of the stacks xs [k], pw2 [k] and pw34 [2k]. */
function powers(n: number, k: number): string {
  const fn = (name: string, expr: string) =>
    `fn ${name}(b : i32, r : i32, c : i32) -> f32 { return ${expr}; }`;
  return [
    fn("X1", `xs[${at(n, "b", "r", "c")}]`),
    fn("X2", `pw2[${at(n, "b", "r", "c")}]`),
    fn("X3", `pw34[${at(n, "b", "r", "c")}]`),
    fn("X4", `pw34[${at(n, `(b + ${k})`, "r", "c")}]`),
    fn("I", "select(0.0, 1.0, r == c)"),
    // The Paterson–Stockmeyer blocks of Σ_{j=1..12} X^j/j! = B0 + X⁴·(B1 + X⁴·B2).
    fn("B0", `${C[1]} * X1(b, r, c) + ${C[2]} * X2(b, r, c) + ${C[3]} * X3(b, r, c)`),
    fn(
      "B1",
      `${C[4]} * I(b, r, c) + ${C[5]} * X1(b, r, c) + ${C[6]} * X2(b, r, c) + ${
        C[7]
      } * X3(b, r, c)`,
    ),
    fn(
      "B2",
      `${C[8]} * I(b, r, c) + ${C[9]} * X1(b, r, c) + ${C[10]} * X2(b, r, c) + ` +
        `${C[11]} * X3(b, r, c) + ${C[12]} * X4(b, r, c)`,
    ),
  ].join("\n");
}

function orthStepKernel({ inputs, attrs, backend }: KernelArgs): TensorInfo[] {
  const a = attrs as unknown as OrthStepAttrs;
  const k = a.count;
  const w0 = inputs.w0!;
  const n = w0.shape[0]!, nn = n * n;
  const gpu = backend as WebGpuBackend;
  const scratch: TensorInfo[] = [];
  const buffer = (size: number) => {
    const t = gpu.makeTensorInfo([size], "float32");
    scratch.push(t);
    return t;
  };
  // X = −η/2^S·(D·Wᵀ − W·Dᵀ) of every matrix, into one stack.
  const xs = buffer(k * nn);
  const scale = -a.lrOrth / 2 ** SQUARINGS;
  const gen = generatorProgram(n, a.direction);
  for (let b = 0; b < k; b++) {
    const ins = a.direction === "adam"
      ? [inputs[`w${b}`]!, inputs[`m${b}`]!, inputs[`v${b}`]!]
      : [inputs[`w${b}`]!, inputs[`g${b}`]!, inputs.norm!];
    const u = [
      { type: "int32" as const, data: [b] },
      ...floats(scale, a.bc1, a.bc2, a.eps, a.clip),
    ];
    dispatch(backend, gen, ins, xs, u);
  }
  const x1 = (b: string, r: string, c: string) => `xs[${at(n, b, r, c)}]`;
  const pw2 = dispatch(
    backend,
    productProgram("x2", n, k, ["xs"], {
      left: x1("b", "i", "k"),
      right: x1("b", "k", "j"),
      epilogue: "acc",
    }),
    [xs],
    buffer(k * nn),
  );
  // X³ = X²·X in the first k matrices, X⁴ = X²·X² in the next k.
  const pw34 = dispatch(
    backend,
    productProgram("x34", n, 2 * k, ["xs", "pw2"], {
      left: `pw2[${at(n, `(b % ${k})`, "i", "k")}]`,
      right: `select(xs[${at(n, `(b % ${k})`, "k", "j")}], pw2[${
        at(n, `(b % ${k})`, "k", "j")
      }], b >= ${k})`,
      epilogue: "acc",
    }),
    [xs, pw2],
    buffer(2 * k * nn),
  );
  const helpers = powers(n, k);
  const names = ["xs", "pw2", "pw34"];
  const q = dispatch(
    backend,
    productProgram("q", n, k, names, {
      helpers,
      left: "X4(b, i, k)",
      right: "B2(b, k, j)",
      epilogue: "B1(b, i, j) + acc",
    }),
    [xs, pw2, pw34],
    buffer(k * nn),
  );
  let f = dispatch(
    backend,
    productProgram("f", n, k, [...names, "qq"], {
      helpers,
      left: "X4(b, i, k)",
      right: `qq[${at(n, "b", "k", "j")}]`,
      epilogue: "B0(b, i, j) + acc",
    }),
    [xs, pw2, pw34, q],
    buffer(k * nn),
  );
  // (I + F)² = I + 2F + F², into the other of two buffers each time.
  let spare = q;
  for (let s = 0; s < SQUARINGS; s++) {
    const ff = (r: string, c: string) => `ff[${at(n, "b", r, c)}]`;
    const sq = productProgram("sq", n, k, ["ff"], {
      left: ff("i", "k"),
      right: ff("k", "j"),
      epilogue: `2.0 * ${ff("i", "j")} + acc`,
    });
    const next = dispatch(backend, sq, [f], spare);
    spare = f;
    f = next;
  }
  // W' = W + F·W for each matrix.
  const outs: TensorInfo[] = [];
  const last = productProgram("w", n, 1, ["ff", "w"], {
    left: `ff[uniforms.at * ${nn} + i * ${n} + k]`,
    right: `w[k * ${n} + j]`,
    epilogue: `w[i * ${n} + j] + acc`,
    uniforms: "at : i32,",
  });
  for (let b = 0; b < k; b++) {
    const which = [{ type: "int32" as const, data: [b] }];
    const out = dispatch(backend, last, [f, inputs[`w${b}`]!], nn, which);
    outs.push({ ...out, shape: [n, n] });
  }
  for (const t of scratch) gpu.disposeData(t.dataId);
  return outs;
}

let installed = false;

/** Register the kernel on the webgpu backend (once). */
export function installOrthStepWebGpu(): void {
  if (installed) return;
  installed = true;
  tf.registerKernel({
    kernelName: ORTH_STEP,
    backendName: "webgpu",
    kernelFunc: orthStepKernel as unknown as tf.KernelFunc,
  });
}

/**
 * W_i ← exp(−η·A_i)·W_i for square matrices of one size, A_i = D_i·W_iᵀ − W_i·D_iᵀ with D_i
 * Adam's direction from the new moments `m[i]`, `v[i]` (direction "adam"), or the gradient
 * `g[i]` clipped by ‖g‖ = `norm` ("sgd"). Returns the new matrices.
 */
export function orthStepWebGpu(
  ws: Tensor[],
  d: { m: Tensor[]; v: Tensor[] } | { g: Tensor[]; norm: Tensor },
  a: Omit<OrthStepAttrs, "count" | "direction">,
): Tensor[] {
  installOrthStepWebGpu();
  const inputs: Record<string, Tensor> = {};
  ws.forEach((w, i) => {
    inputs[`w${i}`] = w;
    if ("m" in d) {
      inputs[`m${i}`] = d.m[i]!;
      inputs[`v${i}`] = d.v[i]!;
    } else inputs[`g${i}`] = d.g[i]!;
  });
  if ("norm" in d) inputs.norm = d.norm;
  const attrs: OrthStepAttrs = { ...a, count: ws.length, direction: "m" in d ? "adam" : "sgd" };
  const out = tf.engine().runKernel(
    ORTH_STEP,
    inputs as unknown as tf.NamedTensorMap,
    attrs as unknown as tf.NamedAttrMap,
  );
  return (Array.isArray(out) ? out : [out]) as Tensor[];
}
