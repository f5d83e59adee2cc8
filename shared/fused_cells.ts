/**
 * One-kernel cell steps for the wasm backend, used when no gradient is being recorded
 * (scoring, generation, evaluation).
 *
 * After its recurrent product a GRU step is 15 small tfjs ops (two strided splits, two
 * sigmoids, a tanh, adds and muls), an LSTM step 12, an RNN step's modReLU 5; each op costs
 * several microseconds of dispatch whatever its size (plus a copy for a strided split), so at
 * batch 10 a good part of a uGRU step's time went there (the complex cells' steps are longer
 * still: splits, moduli and concatenations). These kernels compute the same
 * elementwise math in one pass over views of the wasm heap. tfjs has no fused recurrent-cell op and no npm package adds one, so it is
 * written here. Training runs the recurrence op of shared/recurrence/ (or the composed ops).
 */
import { tf } from "./tf.ts";
import type { Tensor1D, Tensor2D } from "./tf.ts";
import type { Activation } from "./activations.ts";
import type { KernelArgs as Args, TensorInfo, WasmHeapBackend } from "./wasm_kernels.ts";

/** Float32 views of tensors in the wasm heap; take them after makeOutput (it may move the heap). */
function views<T extends TensorInfo[]>(wasm: WasmHeapBackend, ...ts: T) {
  return ts.map((t) => wasm.typedArrayFromHeap(t)) as { [K in keyof T]: Float32Array };
}

const GRU_STEP = "RotorGruStep";
const LSTM_STEP = "RotorLstmStep";
const RNN_STEP = "RotorRnnStep";
const COMPLEX_GRU_STEP = "RotorComplexGruStep";
const COMPLEX_MODRELU = "RotorComplexModRelu";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** h' = (1 − z)·n + z·h from xw, hu [B,3H] (blocks r | z | n), h [B,H], c_n [H]. */
function gruStep({ inputs, backend }: Args): TensorInfo {
  const { xw, hu, h, cn } = inputs as Record<string, TensorInfo>;
  const [b, h3] = xw!.shape as [number, number];
  const n = h3 / 3;
  const wasm = backend as WasmHeapBackend;
  const out = wasm.makeOutput([b, n], "float32");
  const [X, U, S, C, O] = views(wasm, xw!, hu!, h!, cn!, out);
  for (let i = 0; i < b; i++) {
    const g = i * h3, s = i * n;
    for (let j = 0; j < n; j++) {
      const r = sigmoid(X[g + j]! + U[g + j]!);
      const z = sigmoid(X[g + n + j]! + U[g + n + j]!);
      const c = Math.tanh(X[g + 2 * n + j]! + r * (U[g + 2 * n + j]! + C[j]!));
      O[s + j] = (1 - z) * c + z * S[s + j]!;
    }
  }
  return out;
}

/** [h', c'] from xw, hu [B,4H] (gates i | f | g | o) and c [B,H]. */
function lstmStep({ inputs, backend }: Args): TensorInfo[] {
  const { xw, hu, c } = inputs as Record<string, TensorInfo>;
  const [b, h4] = xw!.shape as [number, number];
  const n = h4 / 4;
  const wasm = backend as WasmHeapBackend;
  const outH = wasm.makeOutput([b, n], "float32"), outC = wasm.makeOutput([b, n], "float32");
  const [X, U, C, H, C2] = views(wasm, xw!, hu!, c!, outH, outC);
  const pre = (k: number) => Math.fround(X[k]! + U[k]!);
  for (let r = 0; r < b; r++) {
    const g = r * h4, s = r * n;
    for (let j = 0; j < n; j++) {
      const cell = Math.fround(
        sigmoid(pre(g + n + j)) * C[s + j]! + sigmoid(pre(g + j)) * Math.tanh(pre(g + 2 * n + j)),
      );
      C2[s + j] = cell;
      H[s + j] = sigmoid(pre(g + 3 * n + j)) * Math.tanh(cell);
    }
  }
  return [outH, outC];
}

/** σ(xw + hu) for the RNN activations; modReLU reads its bias b_mod [H]. */
function rnnStep({ inputs, attrs, backend }: Args): TensorInfo {
  const { xw, hu, bMod } = inputs as Record<string, TensorInfo>;
  const { activation, slope } = attrs as { activation: Activation; slope: number };
  const [b, n] = xw!.shape as [number, number];
  const wasm = backend as WasmHeapBackend;
  const out = wasm.makeOutput([b, n], "float32");
  const [X, U, O] = views(wasm, xw!, hu!, out);
  const B = bMod ? views(wasm, bMod)[0] : undefined;
  const f = ACT[activation];
  // fround: the sum is rounded to float32 as the composed ops' add does (modReLU's |z| + b can
  // cancel, and an unrounded z then differs visibly).
  for (let i = 0; i < b * n; i++) O[i] = f(Math.fround(X[i]! + U[i]!), slope, B ? B[i % n]! : 0);
  return out;
}

/** Each activation of shared/activations.ts on one number (same definitions). */
const ACT: Record<Activation, (z: number, slope: number, bMod: number) => number> = {
  tanh: (z) => Math.tanh(z),
  relu: (z) => (z > 0 ? z : 0),
  abs: (z) => Math.abs(z),
  leaky_relu: (z, slope) => (z < 0 ? slope * z : z),
  linear: (z) => z,
  modrelu: (z, _s, bMod) => Math.sign(z) * Math.max(0, Math.fround(Math.abs(z) + bMod)),
};

/** |v| with cells/complex.ts's ε under the root. */
const modulus = (re: number, im: number) => Math.sqrt(re * re + im * im + 1e-8);

/** The cuGRU's h' from xw, hu [B,4K] (blocks r | z | Re n | Im n), h [B,2K], c_n [2K]. */
function complexGruStep({ inputs, backend }: Args): TensorInfo {
  const { xw, hu, h, cn } = inputs as Record<string, TensorInfo>;
  const [b, k4] = xw!.shape as [number, number];
  const k = k4 / 4;
  const wasm = backend as WasmHeapBackend;
  const out = wasm.makeOutput([b, 2 * k], "float32");
  const [X, U, S, C, O] = views(wasm, xw!, hu!, h!, cn!, out);
  for (let i = 0; i < b; i++) {
    const g = i * k4, s = i * 2 * k;
    for (let j = 0; j < k; j++) {
      const r = sigmoid(X[g + j]! + U[g + j]!);
      const z = sigmoid(X[g + k + j]! + U[g + k + j]!);
      const vr = X[g + 2 * k + j]! + r * (U[g + 2 * k + j]! + C[j]!);
      const vi = X[g + 3 * k + j]! + r * (U[g + 3 * k + j]! + C[k + j]!);
      const m = modulus(vr, vi), f = Math.tanh(m) / m;
      O[s + j] = (1 - z) * vr * f + z * S[s + j]!;
      O[s + k + j] = (1 - z) * vi * f + z * S[s + k + j]!;
    }
  }
  return out;
}

/** The cuRNN's complex modReLU of xw + hu [B,2K] (Re | Im) with bias b_mod [K]. */
function complexModRelu({ inputs, backend }: Args): TensorInfo {
  const { xw, hu, bMod } = inputs as Record<string, TensorInfo>;
  const [b, k2] = xw!.shape as [number, number];
  const k = k2 / 2;
  const wasm = backend as WasmHeapBackend;
  const out = wasm.makeOutput([b, k2], "float32");
  const [X, U, M, O] = views(wasm, xw!, hu!, bMod!, out);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < k; j++) {
      const at = i * k2 + j;
      const zr = Math.fround(X[at]! + U[at]!), zi = Math.fround(X[at + k]! + U[at + k]!);
      const m = modulus(zr, zi), f = Math.max(0, m + M[j]!) / m;
      O[at] = zr * f;
      O[at + k] = zi * f;
    }
  }
  return out;
}

let installed = false;

/** Register the kernels on the wasm backend (once; after it is registered). */
export function installFusedCells(): void {
  if (installed || !tf.findBackend("wasm")) return;
  installed = true;
  const kernels = [
    [GRU_STEP, gruStep],
    [LSTM_STEP, lstmStep],
    [RNN_STEP, rnnStep],
    [COMPLEX_GRU_STEP, complexGruStep],
    [COMPLEX_MODRELU, complexModRelu],
  ] as const;
  for (const [kernelName, kernelFunc] of kernels) {
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as tf.KernelFunc });
  }
}

/** True when a fused step may run: the wasm backend is active and no gradient is recorded. */
export function canFuse(): boolean {
  const engine = tf.engine();
  return installed && engine.backendName === "wasm" && engine.state.gradientDepth === 0;
}

/** One GRU step's gates in one kernel (see `canFuse`). */
export function fusedGruStep(xw: Tensor2D, hu: Tensor2D, h: Tensor2D, cn: Tensor1D): Tensor2D {
  return tf.engine().runKernel(GRU_STEP, { xw, hu, h, cn }, {}) as Tensor2D;
}

/** One LSTM step after its recurrent product: h' and c' (see `canFuse`). */
export function fusedLstmStep(
  xw: Tensor2D,
  hu: Tensor2D,
  c: Tensor2D,
): { h: Tensor2D; c: Tensor2D } {
  const [h, c2] = tf.engine().runKernel(LSTM_STEP, { xw, hu, c }, {}) as unknown as Tensor2D[];
  return { h: h!, c: c2! };
}

/** One RNN step's activation σ(xw + hu) in one kernel (see `canFuse`). */
export function fusedRnnStep(
  xw: Tensor2D,
  hu: Tensor2D,
  activation: Activation,
  opts: { slope: number; bMod?: Tensor1D },
): Tensor2D {
  if (activation === "modrelu" && !opts.bMod) throw new Error("modrelu needs its bias b_mod");
  const inputs: tf.NamedTensorMap = { xw, hu };
  if (activation === "modrelu") inputs.bMod = opts.bMod!;
  return tf.engine().runKernel(RNN_STEP, inputs, { activation, slope: opts.slope }) as Tensor2D;
}

/** One cuGRU step after its recurrent product (see `canFuse`): h' [B,2K]. */
export function fusedComplexGruStep(
  xw: Tensor2D,
  hu: Tensor2D,
  h: Tensor2D,
  cn: Tensor1D,
): Tensor2D {
  return tf.engine().runKernel(COMPLEX_GRU_STEP, { xw, hu, h, cn }, {}) as Tensor2D;
}

/** The cuRNN's complex modReLU of xw + hu in one kernel (see `canFuse`). */
export function fusedComplexModRelu(xw: Tensor2D, hu: Tensor2D, bMod: Tensor1D): Tensor2D {
  return tf.engine().runKernel(COMPLEX_MODRELU, { xw, hu, bMod }, {}) as Tensor2D;
}
