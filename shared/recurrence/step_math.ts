/**
 * One time step's gate math, forward and backward, over float32 arrays (rows b of B, units j
 * of H; gate blocks side by side in G = gates·H columns): what the wasm kernels run between
 * their recurrent products. The same formulas, and the same conventions at the kinks (the
 * gradient of relu at 0 is 0, of |z| at 0 is −1), as the composed tfjs ops of shared/cells/.
 */
import type { Activation } from "../activations.ts";
import type { Dims, RecurrenceAttrs } from "./spec.ts";

const f32 = Math.fround;
const CLAMP = 7.90531110763549805; // tanh rounds to ±1 in float32 beyond this

/**
 * tanh to float32 accuracy (a few ulp) as a rational function: the approximation Eigen and
 * XNNPACK use for float tanh, which the composed path's wasm kernels run. V8's Math.tanh and
 * Math.exp are float64-exact and several times slower, and the gate math calls them B·H·T
 * times per pass.
 */
export function tanh32(x: number): number {
  const c = x > CLAMP ? CLAMP : x < -CLAMP ? -CLAMP : x;
  if (c < 0.0004 && c > -0.0004) return c;
  const x2 = c * c;
  let p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13;
  p = x2 * p - 8.60467152213735e-11;
  p = x2 * p + 5.12229709037114e-8;
  p = x2 * p + 1.48572235717979e-5;
  p = x2 * p + 6.37261928875436e-4;
  p = x2 * p + 4.89352455891786e-3;
  let q = x2 * 1.19825839466702e-6 + 1.18534705686654e-4;
  q = x2 * q + 2.268434632439e-3;
  q = x2 * q + 4.89352518554385e-3;
  return (c * p) / q;
}

/** σ(x) = (1 + tanh(x/2)) / 2, to float32 accuracy in absolute terms. */
export const sigmoid32 = (x: number) => 0.5 + 0.5 * tanh32(0.5 * x);
const sigmoid = sigmoid32;

/** An array and the offset of the step's [B, ·] block in it. */
export interface At {
  a: Float32Array;
  o: number;
}

export interface ForwardStep {
  /** x·W + b of this step [B, G]. */
  xw: At;
  /** h_{t−1}·U [B, G]. */
  hu: At;
  /** h_{t−1} and (lstm) c_{t−1} [B, H]. */
  hPrev: At;
  cPrev: At;
  /** c_n (gru) or b_mod (modReLU) [H]. */
  v: Float32Array;
  /** Where h_t and (lstm) c_t go [B, H]. */
  h: At;
  c: At;
}

/** σ(z) of the rnn family (shared/activations.ts on one number). */
export function activate(kind: Activation, z: number, slope: number, bMod: number): number {
  switch (kind) {
    case "tanh":
      return tanh32(z);
    case "relu":
      return z > 0 ? z : 0;
    case "abs":
      return Math.abs(z);
    case "leaky_relu":
      return z < 0 ? slope * z : z;
    case "linear":
      return z;
    case "modrelu":
      return Math.sign(z) * Math.max(0, f32(Math.abs(z) + bMod));
  }
}

/** dσ/dz at z (σ(z) = h) times the upstream gradient g. */
function activateBack(
  kind: Activation,
  z: number,
  h: number,
  g: number,
  slope: number,
  bMod: number,
) {
  switch (kind) {
    case "tanh":
      return g * (1 - h * h);
    case "relu":
      return z > 0 ? g : 0;
    case "abs":
      return z > 0 ? g : -g;
    case "leaky_relu":
      return z > 0 ? g : g * slope;
    case "linear":
      return g;
    case "modrelu":
      // h = sign(z)·relu(|z| + b): tfjs gives sign no gradient and |z| the slope ±1.
      return modReluBias(z, g, bMod) * (z > 0 ? 1 : -1);
  }
}

/** ∂/∂b_mod of modReLU's sign(z)·relu(|z| + b), times g. */
const modReluBias = (z: number, g: number, bMod: number) =>
  f32(Math.abs(z) + bMod) > 0 ? g * Math.sign(z) : 0;

/** True when a step is complex modReLU's (crnn with "modrelu"); else crnn is the rnn's math. */
const complexMod = (a: RecurrenceAttrs) => a.family === "crnn" && a.activation === "modrelu";

/** h_t (and c_t) from xw_t and h_{t−1}·U. */
export function stepForward(attrs: RecurrenceAttrs, d: Dims, s: ForwardStep): void {
  if (complexMod(attrs)) complexModReluForward(d, s);
  else if (attrs.family === "rnn" || attrs.family === "crnn") rnnForward(attrs, d, s);
  else if (attrs.family === "gru") gruForward(d, s);
  else if (attrs.family === "cgru") complexGruForward(d, s);
  else lstmForward(d, s);
}

function rnnForward({ activation, slope }: RecurrenceAttrs, { B, H }: Dims, s: ForwardStep) {
  const X = s.xw.a, U = s.hu.a, V = s.v, Y = s.h.a;
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * H, u = s.hu.o + b * H, y = s.h.o + b * H;
    for (let j = 0; j < H; j++) {
      // Rounded to float32 as the composed add is (modReLU's |z| + b can cancel).
      Y[y + j] = activate(activation, f32(X[x + j]! + U[u + j]!), slope, V[j]!);
    }
  }
}

/** |z| + ε² under the root, as shared/cells/complex.ts computes the modulus. */
const COMPLEX_EPS = 1e-8;

/**
 * Complex modReLU over K = H/2 units of [Re | Im]: h = z/|z| · relu(|z| + b_k), v = b_mod
 * padded to H (its second half unused).
 */
function complexModReluForward({ B, H }: Dims, s: ForwardStep) {
  const X = s.xw.a, U = s.hu.a, V = s.v, Y = s.h.a, K = H / 2;
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * H, u = s.hu.o + b * H, y = s.h.o + b * H;
    for (let k = 0; k < K; k++) {
      const re = f32(X[x + k]! + U[u + k]!), im = f32(X[x + K + k]! + U[u + K + k]!);
      const m = Math.sqrt(re * re + im * im + COMPLEX_EPS);
      const t = m + V[k]!;
      const scale = t > 0 ? t / m : 0;
      Y[y + k] = re * scale;
      Y[y + K + k] = im * scale;
    }
  }
}

function gruForward({ B, H, G }: Dims, s: ForwardStep) {
  const X = s.xw.a, U = s.hu.a, V = s.v, Y = s.h.a, P = s.hPrev.a;
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * G, u = s.hu.o + b * G, y = s.h.o + b * H, p = s.hPrev.o + b * H;
    for (let j = 0; j < H; j++) {
      const r = sigmoid(X[x + j]! + U[u + j]!);
      const z = sigmoid(X[x + H + j]! + U[u + H + j]!);
      const n = tanh32(X[x + 2 * H + j]! + r * (U[u + 2 * H + j]! + V[j]!));
      Y[y + j] = (1 - z) * n + z * P[p + j]!;
    }
  }
}

/**
 * The cuGRU over K = H/2 complex units: xw and hu [B, 4K] in blocks r | z | n_re | n_im, v = c_n
 * [Re | Im]; n = v/|v| · tanh(|v|) of v = xn + r·(hn + c_n), h' = (1 − z)·n + z·h.
 */
function complexGruForward({ B, H, G }: Dims, s: ForwardStep) {
  const X = s.xw.a, U = s.hu.a, V = s.v, Y = s.h.a, P = s.hPrev.a, K = H / 2;
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * G, u = s.hu.o + b * G, y = s.h.o + b * H, p = s.hPrev.o + b * H;
    for (let k = 0; k < K; k++) {
      const r = sigmoid(X[x + k]! + U[u + k]!);
      const z = sigmoid(X[x + K + k]! + U[u + K + k]!);
      const vRe = X[x + 2 * K + k]! + r * (U[u + 2 * K + k]! + V[k]!);
      const vIm = X[x + 3 * K + k]! + r * (U[u + 3 * K + k]! + V[K + k]!);
      const m = Math.sqrt(vRe * vRe + vIm * vIm + COMPLEX_EPS);
      const scale = tanh32(m) / m;
      Y[y + k] = (1 - z) * vRe * scale + z * P[p + k]!;
      Y[y + K + k] = (1 - z) * vIm * scale + z * P[p + K + k]!;
    }
  }
}

function lstmForward({ B, H, G }: Dims, s: ForwardStep) {
  const X = s.xw.a, U = s.hu.a, Y = s.h.a, C = s.c.a, P = s.cPrev.a;
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * G, u = s.hu.o + b * G;
    const y = s.h.o + b * H, c = s.c.o + b * H, p = s.cPrev.o + b * H;
    for (let j = 0; j < H; j++) {
      const i = sigmoid(f32(X[x + j]! + U[u + j]!));
      const f = sigmoid(f32(X[x + H + j]! + U[u + H + j]!));
      const g = tanh32(f32(X[x + 2 * H + j]! + U[u + 2 * H + j]!));
      const o = sigmoid(f32(X[x + 3 * H + j]! + U[u + 3 * H + j]!));
      const cell = f32(f * P[p + j]! + i * g);
      C[c + j] = cell;
      Y[y + j] = o * tanh32(cell);
    }
  }
}

export interface BackwardStep extends ForwardStep {
  /** In: ∂loss/∂h_t in full [B, H]. */
  dh: Float32Array;
  /** lstm: in ∂loss/∂c_t in full, out the part of ∂loss/∂c_{t−1} that flows through c [B, H]. */
  dc: Float32Array;
  /** Out: the part of ∂loss/∂h_{t−1} that does not go through U (the GRU's z·h) [B, H]. */
  direct: Float32Array;
  /** Out: ∂xw_t and (gru) ∂(h_{t−1}·U) [B, G]; elsewhere the two are the same block. */
  dxw: At;
  dhu: At;
  /** ∂v summed over time so far, per row [B, H]; `first` starts the sum. */
  dv: At;
  first: boolean;
}

/** The gradients of one step from ∂h_t (and ∂c_t), recomputing the gates from xw and hu. */
export function stepBackward(attrs: RecurrenceAttrs, d: Dims, s: BackwardStep): void {
  if (complexMod(attrs)) complexModReluBackward(d, s);
  else if (attrs.family === "rnn" || attrs.family === "crnn") rnnBackward(attrs, d, s);
  else if (attrs.family === "gru") gruBackward(d, s);
  else if (attrs.family === "cgru") complexGruBackward(d, s);
  else lstmBackward(d, s);
}

function rnnBackward({ activation, slope }: RecurrenceAttrs, { B, H }: Dims, s: BackwardStep) {
  const X = s.xw.a, U = s.hu.a, V = s.v, Y = s.h.a, DX = s.dxw.a, DV = s.dv.a;
  const mod = activation === "modrelu";
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * H, u = s.hu.o + b * H, y = s.h.o + b * H, r = b * H;
    const dx = s.dxw.o + b * H, dv = s.dv.o + b * H;
    for (let j = 0; j < H; j++) {
      const z = f32(X[x + j]! + U[u + j]!);
      const g = s.dh[r + j]!;
      DX[dx + j] = activateBack(activation, z, Y[y + j]!, g, slope, V[j]!);
      const db = mod ? modReluBias(z, g, V[j]!) : 0;
      DV[dv + j] = s.first ? db : DV[dv + j]! + db;
      s.direct[r + j] = 0;
    }
  }
}

/**
 * Complex modReLU's gradient: with s(m) = relu(m + b)/m and q = (g_re·re + g_im·im)/m,
 * ∂re = g_re·s + re·q·s'(m), ∂im = g_im·s + im·q·s'(m), ∂b = q where m + b > 0,
 * s'(m) = (1[m + b > 0]·m − relu(m + b))/m².
 */
function complexModReluBackward({ B, H }: Dims, s: BackwardStep) {
  const X = s.xw.a, U = s.hu.a, V = s.v, DX = s.dxw.a, DV = s.dv.a, K = H / 2;
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * H, u = s.hu.o + b * H, r = b * H;
    const dx = s.dxw.o + b * H, dv = s.dv.o + b * H;
    for (let k = 0; k < K; k++) {
      const re = f32(X[x + k]! + U[u + k]!), im = f32(X[x + K + k]! + U[u + K + k]!);
      const gRe = s.dh[r + k]!, gIm = s.dh[r + K + k]!;
      const m = Math.sqrt(re * re + im * im + COMPLEX_EPS);
      const t = m + V[k]!;
      const on = t > 0;
      const scale = on ? t / m : 0;
      const q = (gRe * re + gIm * im) / m;
      const ds = ((on ? m : 0) - (on ? t : 0)) / (m * m); // s'(m)
      DX[dx + k] = gRe * scale + re * q * ds;
      DX[dx + K + k] = gIm * scale + im * q * ds;
      const db = on ? q : 0;
      DV[dv + k] = s.first ? db : DV[dv + k]! + db;
      DV[dv + K + k] = 0;
      s.direct[r + k] = 0;
      s.direct[r + K + k] = 0;
    }
  }
}

function gruBackward({ B, H, G }: Dims, s: BackwardStep) {
  const X = s.xw.a, U = s.hu.a, V = s.v, P = s.hPrev.a;
  const DX = s.dxw.a, DU = s.dhu.a, DV = s.dv.a;
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * G, u = s.hu.o + b * G, p = s.hPrev.o + b * H, r0 = b * H;
    const dx = s.dxw.o + b * G, du = s.dhu.o + b * G, dv = s.dv.o + b * H;
    for (let j = 0; j < H; j++) {
      const dh = s.dh[r0 + j]!;
      const r = sigmoid(X[x + j]! + U[u + j]!);
      const z = sigmoid(X[x + H + j]! + U[u + H + j]!);
      const hn = U[u + 2 * H + j]! + V[j]!;
      const n = tanh32(X[x + 2 * H + j]! + r * hn);
      const dan = dh * (1 - z) * (1 - n * n);
      const dar = dan * hn * r * (1 - r);
      const daz = dh * (P[p + j]! - n) * z * (1 - z);
      DX[dx + j] = dar;
      DX[dx + H + j] = daz;
      DX[dx + 2 * H + j] = dan;
      DU[du + j] = dar;
      DU[du + H + j] = daz;
      DU[du + 2 * H + j] = dan * r;
      DV[dv + j] = s.first ? dan * r : DV[dv + j]! + dan * r;
      s.direct[r0 + j] = dh * z;
    }
  }
}

/**
 * The cuGRU's gradients: through h' = (1 − z)·n + z·h, the candidate's ctanh (as complex
 * modReLU's, with s(m) = tanh(m)/m), r (which scales hn + c_n) and z.
 */
function complexGruBackward({ B, H, G }: Dims, s: BackwardStep) {
  const X = s.xw.a, U = s.hu.a, V = s.v, P = s.hPrev.a;
  const DX = s.dxw.a, DU = s.dhu.a, DV = s.dv.a, K = H / 2;
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * G, u = s.hu.o + b * G, p = s.hPrev.o + b * H, r0 = b * H;
    const dx = s.dxw.o + b * G, du = s.dhu.o + b * G, dv = s.dv.o + b * H;
    for (let k = 0; k < K; k++) {
      const dhRe = s.dh[r0 + k]!, dhIm = s.dh[r0 + K + k]!;
      const r = sigmoid(X[x + k]! + U[u + k]!);
      const z = sigmoid(X[x + K + k]! + U[u + K + k]!);
      const hnRe = U[u + 2 * K + k]! + V[k]!, hnIm = U[u + 3 * K + k]! + V[K + k]!;
      const vRe = X[x + 2 * K + k]! + r * hnRe, vIm = X[x + 3 * K + k]! + r * hnIm;
      const m = Math.sqrt(vRe * vRe + vIm * vIm + COMPLEX_EPS);
      const th = tanh32(m), sc = th / m;
      const nRe = vRe * sc, nIm = vIm * sc;
      const daz = (dhRe * (P[p + k]! - nRe) + dhIm * (P[p + K + k]! - nIm)) * z * (1 - z);
      const dnRe = dhRe * (1 - z), dnIm = dhIm * (1 - z);
      const q = (dnRe * vRe + dnIm * vIm) / m;
      const ds = (m * (1 - th * th) - th) / (m * m); // d(tanh(m)/m)/dm
      const dvRe = dnRe * sc + vRe * q * ds, dvIm = dnIm * sc + vIm * q * ds;
      const dar = (dvRe * hnRe + dvIm * hnIm) * r * (1 - r);
      DX[dx + k] = dar;
      DX[dx + K + k] = daz;
      DX[dx + 2 * K + k] = dvRe;
      DX[dx + 3 * K + k] = dvIm;
      DU[du + k] = dar;
      DU[du + K + k] = daz;
      DU[du + 2 * K + k] = dvRe * r;
      DU[du + 3 * K + k] = dvIm * r;
      DV[dv + k] = s.first ? dvRe * r : DV[dv + k]! + dvRe * r;
      DV[dv + K + k] = s.first ? dvIm * r : DV[dv + K + k]! + dvIm * r;
      s.direct[r0 + k] = dhRe * z;
      s.direct[r0 + K + k] = dhIm * z;
    }
  }
}

function lstmBackward({ B, H, G }: Dims, s: BackwardStep) {
  const X = s.xw.a, U = s.hu.a, C = s.c.a, P = s.cPrev.a, DX = s.dxw.a, DV = s.dv.a;
  for (let b = 0; b < B; b++) {
    const x = s.xw.o + b * G, u = s.hu.o + b * G, c = s.c.o + b * H, p = s.cPrev.o + b * H;
    const dx = s.dxw.o + b * G, dv = s.dv.o + b * H, r = b * H;
    for (let j = 0; j < H; j++) {
      const i = sigmoid(f32(X[x + j]! + U[u + j]!));
      const f = sigmoid(f32(X[x + H + j]! + U[u + H + j]!));
      const g = tanh32(f32(X[x + 2 * H + j]! + U[u + 2 * H + j]!));
      const o = sigmoid(f32(X[x + 3 * H + j]! + U[u + 3 * H + j]!));
      const dh = s.dh[r + j]!;
      const tc = tanh32(C[c + j]!);
      const dc = s.dc[r + j]! + dh * o * (1 - tc * tc);
      DX[dx + j] = dc * g * i * (1 - i);
      DX[dx + H + j] = dc * P[p + j]! * f * (1 - f);
      DX[dx + 2 * H + j] = dc * i * (1 - g * g);
      DX[dx + 3 * H + j] = dh * tc * o * (1 - o);
      s.dc[r + j] = dc * f;
      s.direct[r + j] = 0;
      if (s.first) DV[dv + j] = 0;
    }
  }
}
