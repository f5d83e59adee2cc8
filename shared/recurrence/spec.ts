/**
 * What the recurrence kernels of every backend agree on: the attributes of a call, the sizes
 * read off its inputs, and where each gradient lies in the backward kernel's one flat output.
 */
import type { Activation } from "../activations.ts";

/**
 * The step shapes: h' = σ(a) (rnn, urnn), the GRU gates, the LSTM gates, and two over a complex
 * state stored as [Re | Im]: crnn, h' = σ(a) (the cuRNN, whose U is the real block of its
 * unitary matrix; σ is complex modReLU, or a split activation, which is the rnn's math), and
 * cgru (the cuGRU: real gates r, z per complex unit, a complex candidate; shared/cells/cugru.ts).
 */
export type Family = "rnn" | "crnn" | "gru" | "cgru" | "lstm";

/** Attributes of the forward and backward kernels. */
export interface RecurrenceAttrs {
  family: Family;
  /** σ of the rnn and crnn families; ignored by gru and lstm. */
  activation: Activation;
  /** Negative slope of leaky_relu. */
  slope: number;
}

/** Sizes of one call: T steps, batch B, H units, G = gates·H columns, S = 1 (h) or 2 (h, c). */
export interface Dims {
  T: number;
  B: number;
  H: number;
  G: number;
  S: number;
}

/** Columns of xw per state column: the cuGRU's r (K) | z (K) | n (2K) over a state of 2K. */
export const GATES: Record<Family, number> = { rnn: 1, crnn: 1, gru: 3, cgru: 2, lstm: 4 };

/** Dims from xw [T, B, G] and the family. */
export function dimsOf(family: Family, xwShape: readonly number[]): Dims {
  const [T, B, G] = xwShape as [number, number, number];
  const gates = GATES[family];
  if (G % gates !== 0) throw new Error(`xw's last axis ${G} is not a multiple of ${gates} gates`);
  return { T, B, H: G / gates, G, S: family === "lstm" ? 2 : 1 };
}

/**
 * Offsets in the forward kernel's flat output: every step's h [T,B,H], the LSTM's c [T,B,H],
 * and every step's recurrent product h_{t−1}·U [T,B,G], kept for the backward pass.
 */
export interface ForwardLayout {
  h: number;
  c: number;
  hu: number;
  size: number;
}

export function forwardLayout(d: Dims): ForwardLayout {
  const steps = d.T * d.B * d.H;
  return { h: 0, c: steps, hu: d.S * steps, size: d.S * steps + d.T * d.B * d.G };
}

/**
 * Offsets in the backward kernel's flat output: ∂xw [T,B,G]; ∂hu [T,B,G] where it differs
 * from ∂xw (the GRU, whose r multiplies h·U_n + c_n); ∂state [S,B,H]; the per-row partial sums
 * over time of the vector parameter's gradient [B,H] (c_n of the GRU, b_mod of modReLU, else 0).
 */
export interface GradLayout {
  dxw: number;
  dhu: number;
  dstate: number;
  dv: number;
  size: number;
}

export function gradLayout(family: Family, d: Dims): GradLayout {
  const steps = d.T * d.B * d.G;
  const gated = family === "gru" || family === "cgru";
  const dhu = gated ? steps : 0;
  const dstate = gated ? 2 * steps : steps;
  const dv = dstate + d.S * d.B * d.H;
  return { dxw: 0, dhu, dstate, dv, size: dv + d.B * d.H };
}
