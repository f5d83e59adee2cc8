/**
 * Sampling a batched step's logits: every row's token, its log-probability and the most likely
 * alternatives, from one softmax kernel over the whole batch.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import { drawWeighted, logSumExp, sampleToken, topK } from "../shared/sample.ts";
import type { SampledToken, Stream } from "./stream.ts";

export interface BatchRows {
  /** Draw row i's token for stream s, with its log-probability (and alternatives). */
  sample(i: number, s: Stream): SampledToken;
}

/**
 * Everything sampling needs from a step's logits [B,V], computed on the backend for the whole
 * batch in one softmax kernel: each row's probabilities at its own temperature (T = 1 for greedy
 * rows), read once. (In JS, two Math.exp passes over every row took as long as the batched
 * product itself at 32 streams; max, sub, exp, sum and log as separate ops took 4.8 ms at 32
 * streams where the softmax kernel takes 1.0 ms.) A row's weights depend only on its own logits
 * and temperature, so a seeded stream draws the same tokens alone or in any batch. At T = 1 the
 * log-probability is log p itself; other temperatures read the raw logits and log Σ exp(logits),
 * as do rows whose allowed weights all underflowed (a very low temperature with `<unk>` on top).
 */
export function readRows(logits: Tensor2D, active: Stream[]): BatchRows {
  const { inv, t } = rowTensors(logits, active);
  const [p, lseT] = t.map((x) => x.dataSync() as Float32Array) as [Float32Array, Float32Array?];
  tf.dispose(t);
  // Read on first use; the caller keeps `logits` alive until every row is sampled.
  let raw: Float32Array | undefined;
  return rowsOf(logits.shape[1], inv, p, lseT, () => raw ??= logits.dataSync() as Float32Array);
}

/**
 * `readRows` for a backend whose reads are asynchronous (WebGPU: its dataSync returns zeros in
 * a browser tab, and blocks the event loop elsewhere). Every read is started at once, the raw
 * logits included: a row may need them (another temperature, alternatives, underflowed
 * weights) and sampling cannot wait for a read.
 */
export async function readRowsAsync(logits: Tensor2D, active: Stream[]): Promise<BatchRows> {
  const { inv, t } = rowTensors(logits, active);
  try {
    const [raw, p, lseT] = (await Promise.all([logits, ...t].map((x) => x.data()))) as [
      Float32Array,
      Float32Array,
      Float32Array?,
    ];
    return rowsOf(logits.shape[1], inv, p, lseT, () => raw);
  } finally {
    tf.dispose(t);
  }
}

/** Each row's inverse temperature, and the batch's weights [B,V] (and log Σ exp [B] if needed). */
function rowTensors(logits: Tensor2D, active: Stream[]) {
  const b = logits.shape[0];
  const inv = Float32Array.from(active, (s) => {
    const t = s.job.sampling.temperature;
    return t > 0 ? 1 / t : 1;
  });
  const allOnes = inv.every((x) => x === 1);
  // tidy returns the tensors, read after: tidy walks a returned object's typed arrays
  // element by element, which for [B,V] weights costs more than the whole step.
  const t = tf.tidy(() => [
    tf.softmax(allOnes ? logits : tf.mul(logits, tf.tensor2d(inv, [b, 1]))),
    ...(allOnes ? [] : [tf.logSumExp(logits, 1)]),
  ]);
  return { inv, t };
}

function rowsOf(
  v: number,
  inv: Float32Array,
  p: Float32Array,
  lseT: Float32Array | undefined,
  rawAll: () => Float32Array,
): BatchRows {
  const rawRow = (i: number) => rawAll().subarray(i * v, (i + 1) * v);
  const lse = (i: number) => lseT?.[i] ?? logSumExp(rawRow(i));
  return {
    sample(i, s) {
      const weights = p.subarray(i * v, (i + 1) * v);
      const atOne = inv[i] === 1;
      const k = s.job.topLogprobs ?? 0;
      // Alternatives before drawing: drawWeighted zeroes excluded ids' weights in place.
      // The alternatives leave out what sampling excludes (<unk>): no stream can write them.
      const excluded = s.job.sampling.exclude ?? [];
      const best = (row: Float32Array) =>
        topK(row, k + excluded.length).filter(([j]) => !excluded.includes(j)).slice(0, k);
      const top: [number, number][] | undefined = k === 0
        ? undefined
        : atOne
        ? best(weights).map(([j, x]) => [j, Math.log(x)])
        : best(rawRow(i)).map(([j, x]) => [j, x - lse(i)]);
      let id = drawWeighted(weights, s.job.sampling, s.prng);
      let logprob = atOne && id >= 0 ? Math.log(weights[id]!) : NaN;
      // Other temperatures, and draws whose weights all underflowed, use the raw logits.
      if (!Number.isFinite(logprob)) {
        const row = rawRow(i);
        if (id < 0) id = sampleToken(row, s.job.sampling, s.prng);
        logprob = row[id]! - lse(i);
      }
      const token: SampledToken = { id, logprob };
      if (top) token.top = top;
      return token;
    },
  };
}
