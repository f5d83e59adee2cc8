import assert from "node:assert/strict";
import { parseModelConfig } from "../shared/config.ts";
import { useWasm } from "../shared/testing.ts";
import {
  orthOverheads,
  pairedOverhead,
  quantile,
  timeSteps,
  trainFlopsPerToken,
} from "./step_time.ts";

Deno.test("pairedOverhead() takes the median of per-round overheads, with quartiles", () => {
  assert.deepEqual(pairedOverhead([110, 190, 103], [100, 200, 100]), {
    median: 3.0000000000000027,
    q1: -5.000000000000004,
    q3: 10.000000000000009,
  });
  assert.throws(() => pairedOverhead([1], [1, 2]), /equal, non-zero counts, got "1" and "2"/);
});

Deno.test("quantile() picks by nearest rank", () => {
  assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
  assert.equal(quantile([5, 1, 3, 2, 4], 0), 1);
  assert.equal(quantile([5, 1, 3, 2, 4], 1), 5);
});

Deno.test("timeSteps() times every model in every round", async () => {
  await useWasm();
  const cfg = (cell: "rnn" | "urnn") =>
    parseModelConfig({ cell, activation: "relu", vocabSize: 20, embedSize: 4, hiddenSize: 4 });
  const rows = await timeSteps([{ label: "rnn", cfg: cfg("rnn") }, {
    label: "urnn",
    cfg: cfg("urnn"),
  }], {
    batch: 2,
    bptt: 3,
    reps: 3,
    seed: 1,
  });
  assert.deepEqual(rows.map((r) => r.label), ["rnn", "urnn"]);
  for (const r of rows) {
    assert.equal(r.stepSamples.length, 3);
    assert.equal(r.fwdBwdSamples.length, 3);
    assert.ok(r.stepMs > 0 && r.fwdBwdMs > 0);
    assert.equal(r.stepMs, quantile(r.stepSamples, 0.5));
    assert.ok(r.dispatches.kernels > 50, JSON.stringify(r.dispatches));
  }
  // On wasm the exponential's plan reads ‖ηA‖₁ (a read is free there); nothing else is read.
  assert.deepEqual(rows.map((r) => r.dispatches.reads), [0, 1]);
  assert.ok(rows[1]!.dispatches.kernels > rows[0]!.dispatches.kernels, "urnn adds its step");
  for (const r of rows) {
    assert.ok(r.optimizerDispatches > 0 && r.optimizerDispatches < r.dispatches.dispatches);
  }
  assert.ok(rows[1]!.optimizerDispatches > rows[0]!.optimizerDispatches, "the orthogonal step");
});

Deno.test("trainFlopsPerToken() counts the forward and both backward products of each matMul", () => {
  const cfg = (cell: "rnn" | "gru") =>
    parseModelConfig({ cell, vocabSize: 10000, embedSize: 256, hiddenSize: 256, tieWeights: true });
  // rnn: 3 · (2·256·10000 + 2·256·256 + 2·256·256); gru has 3 gates in W and U.
  assert.equal(trainFlopsPerToken(cfg("rnn")), 3 * (5_120_000 + 131_072 + 131_072));
  assert.equal(trainFlopsPerToken(cfg("gru")), 3 * (5_120_000 + 3 * 131_072 + 3 * 131_072));
});

Deno.test("orthOverheads() pairs each orthogonal cell with its plain cell, where both ran", () => {
  const rows = [
    { label: "rnn", stepSamples: [100, 200] },
    { label: "urnn", stepSamples: [101, 204] },
    { label: "ugru", stepSamples: [1, 1] },
  ];
  assert.deepEqual(orthOverheads(rows), [
    { cell: "urnn", base: "rnn", ...pairedOverhead([101, 204], [100, 200]) },
  ]);
});
