/**
 * Gradient flow for the report: ‖∂L_T/∂h_(T−k)‖ by distance k (research/gradflow.ts's
 * measurement) on PTB validation text, and the range of |eigenvalue| of each recurrent block.
 */
import type { ModelConfig } from "../../shared/config.ts";
import type { Params } from "../../shared/model.ts";
import { createPrng } from "../../shared/prng.ts";
import { eigenModuli, gradientNorms, realBlock } from "../gradflow.ts";
import { isComplex } from "../../shared/cells/mod.ts";
import type { GradflowSeries } from "./ptb_results.ts";

const BLOCKS: Record<ModelConfig["cell"], string[]> = {
  rnn: ["U"],
  urnn: ["U"],
  gru: ["U_r", "U_z", "U_n"],
  ugru: ["U_r", "U_z", "U_n"],
  lstm: [],
  curnn: ["U"],
  cugru: ["U_r", "U_z", "U_n"],
};

export interface GradflowOptions {
  k: number;
  batch: number;
  batches: number;
  seed: number;
  /** Token stream the windows are drawn from (the same windows for every model). */
  stream: Int32Array;
}

/** Mean gradient norms over `batches` random windows of the stream, and eigenvalue ranges. */
export async function measureGradflow(
  m: { label: string; stage: "init" | "trained"; cfg: ModelConfig; params: Params },
  o: GradflowOptions,
): Promise<GradflowSeries> {
  const prng = createPrng(o.seed);
  const len = o.k + 2;
  if (o.stream.length < len + 1) {
    throw new Error(`A stream of ${o.stream.length} tokens is too short for K = ${o.k}`);
  }
  const sum = new Array<number>(o.k + 1).fill(0);
  for (let i = 0; i < o.batches; i++) {
    const toks = new Int32Array(o.batch * len);
    for (let r = 0; r < o.batch; r++) {
      const start = prng.int(o.stream.length - len);
      toks.set(o.stream.subarray(start, start + len), r * len);
    }
    (await gradientNorms(m.params, m.cfg, toks, o.batch, o.k)).forEach((v, k) =>
      sum[k] = sum[k]! + v / o.batches
    );
  }
  const eigen = [];
  for (const block of BLOCKS[m.cfg.cell]) {
    const u = (await m.params[`layer0/${block}`]!.data()) as Float32Array;
    // A complex W's eigenvalues are those of its real block, each with its conjugate.
    const mod = isComplex(m.cfg.cell)
      ? eigenModuli(realBlock(u, m.cfg.hiddenSize / 2), m.cfg.hiddenSize)
      : eigenModuli(u, m.cfg.hiddenSize);
    eigen.push({ block, min: Math.min(...mod), max: Math.max(...mod) });
  }
  const c = m.cfg.cell;
  const family = c === "rnn" || c === "urnn" || c === "curnn" ? "rnn" : "gru";
  return { label: m.label, family, stage: m.stage, norms: sum, eigen };
}
