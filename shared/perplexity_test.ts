import assert from "node:assert/strict";
import { tf } from "./tf.ts";
import type { Tensor1D, Tensor2D } from "./tf.ts";
import { loadModel } from "./model_format.ts";
import { projectedNll, scoredRange, scoreStream, scoreStreamYielding } from "./perplexity.ts";
import { step, zeroState } from "./model.ts";
import { tokenNll } from "./ops.ts";
import { createPrng } from "./prng.ts";
import { assertClose, saveSmallModel, smallModelAndStream, useWasm } from "./testing.ts";

Deno.test("scoreStream() equals token-by-token scoring and covers every target once", async () => {
  await useWasm();
  for (const cell of ["ugru", "lstm"] as const) {
    const m = await loadModel(await saveSmallModel({ cell }, 5));
    const prng = createPrng(2);
    const stream = Int32Array.from({ length: 103 }, () => prng.int(m.config.vocabSize));
    // Reference: one column, one token at a time through step().
    let state = zeroState(m.config, 1);
    let nll = 0;
    for (let i = 0; i + 1 < stream.length; i++) {
      const out = step(m.params, m.config, tf.tensor1d([stream[i]!], "int32") as Tensor1D, state);
      nll -= out.logProbs.dataSync()[stream[i + 1]!]!;
      state = out.state;
    }
    const one = scoreStream(m.params, m.config, stream, { batch: 1, bptt: 7, perToken: true });
    assert.equal(one.tokens, 102);
    assertClose(one.nll, nll, 1e-5, "batch 1");
    const many = scoreStream(m.params, m.config, stream, { batch: 4, bptt: 5, perToken: true });
    assert.equal(many.tokens, 102);
    assert.ok(many.logprobs!.every((v) => v < 0), "every target scored");
    assertClose(many.perplexity, Math.exp(many.nll / 102), 1e-12);
    // Columns restart from a zero state, so only the first token of each column may differ.
    assertClose(many.nll, nll, 0.05, "batch 4");
  }
});

Deno.test("scoreStream() parts by columns add up to exactly the whole stream's score", async () => {
  const { m, stream } = await smallModelAndStream(108, 3);
  const opts = { batch: 10, bptt: 4, perToken: true };
  const whole = scoreStream(m.params, m.config, stream, opts);
  const a = scoreStream(m.params, m.config, stream, { ...opts, columns: [0, 4] });
  const b = scoreStream(m.params, m.config, stream, { ...opts, columns: [4, 10] });
  const [a0, a1] = scoredRange(107, { ...opts, columns: [0, 4] });
  const [b0, b1] = scoredRange(107, { ...opts, columns: [4, 10] });
  assert.deepEqual([a0, a1, b0, b1], [0, 40, 40, 107], "10 columns of 10, then a tail of 7");
  assert.equal(a.tokens + b.tokens, whole.tokens);
  assertClose(a.nll + b.nll, whole.nll, 1e-9);
  assert.deepEqual(a.logprobs!.subarray(a0, a1), whole.logprobs!.subarray(a0, a1));
  assert.deepEqual(b.logprobs!.subarray(b0, b1), whole.logprobs!.subarray(b0, b1));
  assert.throws(
    () => scoreStream(m.params, m.config, stream, { ...opts, columns: [3, 11] }),
    /columns/,
  );
});

Deno.test("projectedNll() gives −log p even where p underflows float32 (the exact path takes over)", async () => {
  await useWasm();
  // Row 0: logits [0, 200] → p(0) = e^-200, below float32; row 1: ordinary.
  const hidden = tf.tensor2d([[1, 0], [0, 1]]) as Tensor2D;
  const w = tf.tensor2d([[0, 200], [1, 2]]) as Tensor2D;
  const bias = tf.zeros([2]) as Tensor1D;
  const targets = tf.tensor1d([0, 1], "int32") as Tensor1D;
  const fast = tf.tidy(() => tokenNll(tf.matMul(hidden, w) as Tensor2D, targets).arraySync());
  assert.equal(fast[0], Infinity, "the softmax path alone cannot give it");
  const before = tf.memory().numTensors;
  const nll = projectedNll(hidden, targets, w, bias);
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  assertClose(nll[0]!, 200, 1e-5);
  assertClose(nll[1]!, Math.log(Math.exp(1) + Math.exp(2)) - 2, 1e-6);
});

Deno.test("scoreStream() resetEachWindow scores each window from the zero state", async () => {
  const { m, stream } = await smallModelAndStream(36, 3);
  const reset = scoreStream(m.params, m.config, stream, {
    bptt: 7,
    batch: 1,
    resetEachWindow: true,
  });
  // The same windows scored as separate streams, each from a zero state.
  let nll = 0;
  for (let i = 0; i < 35; i += 7) {
    nll += scoreStream(m.params, m.config, stream.subarray(i, i + 8), { batch: 1, bptt: 7 }).nll;
  }
  assert.equal(reset.tokens, 35);
  assertClose(reset.nll, nll, 1e-5, "reset windows");
  const carried = scoreStream(m.params, m.config, stream, { bptt: 7, batch: 1 });
  assert.notEqual(carried.nll, reset.nll);
});

Deno.test("scoreStreamYielding() lets timers run between windows, to scoreStream()'s result", async () => {
  await useWasm();
  const m = await loadModel(await saveSmallModel({}, 5));
  const prng = createPrng(4);
  const stream = Int32Array.from({ length: 701 }, () => prng.int(m.config.vocabSize));
  const opts = { batch: 1, bptt: 35, perToken: true };
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const yielding = await scoreStreamYielding(m.params, m.config, stream, opts, 0);
  clearInterval(timer);
  // 20 windows with a pause after each: the event loop ran throughout.
  assert.ok(ticks >= 10, `${ticks} timer ticks while scoring`);
  assert.deepEqual(yielding, scoreStream(m.params, m.config, stream, opts));
});
