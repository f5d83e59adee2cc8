/** Results of one made-up run, for the tests of the table and the report. */
import type { ServeBench, TorchRef, TrainBench } from "./results.ts";

/** A run measured at B = 20, H = 256, V = 10000: 700 tokens per batch at T = 35. */
export function train(): TrainBench {
  const cell = (name: string, stepMs: number, stepSamples: number[]) => ({
    cell: name,
    stepMs,
    fwdBwdMs: stepMs - 10,
    tokensPerS: 700 / (stepMs / 1000),
    rooflineTokensPerS: 2000,
    stepSamples,
  });
  return {
    tool: "bench:train",
    backend: "wasm",
    batch: 20,
    hidden: 256,
    vocab: 10000,
    reps: 3,
    threads: 1,
    roofline: { m: 700, k: 256, n: 10000, ms: 200, gflops: 17.92 },
    runs: [1, 2].map((workers) => ({
      bptt: 35,
      workers,
      cells: [
        cell("rnn", 700 / workers, [700, 700, 700].map((x) => x / workers)),
        // Paired rounds: +2 %, +10 %, +4 % → median +4 %.
        cell("urnn", 728 / workers, [714, 770, 728].map((x) => x / workers)),
      ],
    })),
  };
}

export function serve(): ServeBench {
  const rate = (tokensPerS: number) => ({ tokens: 900, seconds: 900 / tokensPerS, tokensPerS });
  return {
    tool: "bench:serve",
    model: "model ptb-ugru-untrained: ugru 1×256",
    hidden: 256,
    vocab: 10000,
    firstTokenMs: 1020,
    single: rate(700),
    streams: [
      { n: 8, ...rate(1400), peakRssMB: 150 },
      { n: 32, ...rate(2800), peakRssMB: 210 },
    ],
    score: { lines: 0, tokens: 82430, seconds: 20, tokensPerS: 4121.5, perplexity: 9999 },
    scoreWhileStreaming: { tokensPerS: 350, maxGapMs: 41.6, scoreSeconds: 22 },
    peakRssMB: 250,
  };
}

export function torch(): TorchRef {
  const rate = (tokensPerS: number) => ({ tokens: 900, seconds: 900 / tokensPerS, tokensPerS });
  return {
    tool: "torch_ref",
    torch: "1.13.1",
    python: "3.11.2",
    threads: 2,
    matmul: { m: 700, k: 256, n: 10000, ms: 50, gflops: 71.68 },
    train: {
      batch: 20,
      hidden: 256,
      vocab: 10000,
      reps: 3,
      rows: [
        { cell: "rnn", bptt: 35, stepMs: 350, tokensPerS: 2000, stepSamples: [350, 350, 350] },
        { cell: "urnn", bptt: 35, stepMs: 385, tokensPerS: 1818, stepSamples: [385, 385, 385] },
      ],
    },
    generate: { hidden: 256, vocab: 10000, single: rate(350), streams: [{ n: 32, ...rate(3000) }] },
    score: { lines: 0, tokens: 82430, seconds: 10, tokensPerS: 8243, perplexity: 10001 },
  };
}
