import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import { disposeState, forwardLogits, zeroState } from "../shared/model.ts";
import { logSumExp } from "../shared/sample.ts";
import { ECHO_BLOCK, promptLogprobs } from "./prompt_logprobs.ts";
import { smallServedModel } from "./testing.ts";

const ids = (n: number) =>
  Int32Array.from({ length: n + 1 }, (_, i) => (i === 0 ? 1 : 2 + (i * 7) % 30));

Deno.test("promptLogprobs() read in blocks equals one pass over the whole prompt", async () => {
  const m = await smallServedModel();
  const n = 3 * ECHO_BLOCK + 5;
  const x = ids(n);
  const got = await promptLogprobs(m, x, 3);
  const state = zeroState(m.config, 1);
  const t = tf.tidy(() =>
    forwardLogits(m.params, m.config, tf.tensor2d(x.subarray(0, n), [1, n], "int32"), state)
      .logits as Tensor2D
  );
  const logits = t.dataSync() as Float32Array;
  t.dispose();
  disposeState(state);
  const v = m.config.vocabSize;
  assert.equal(got.logprobs.length, n);
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * v, (i + 1) * v);
    assert.ok(Math.abs(got.logprobs[i]! - (row[x[i + 1]!]! - logSumExp(row))) < 1e-5, `${i}`);
    assert.equal(got.top[i]!.length, 3);
  }
});

Deno.test("promptLogprobs() peak memory does not grow with the prompt's length", async () => {
  const m = await smallServedModel();
  const peak = async (n: number) => {
    const before = tf.memory().numTensors;
    const p = await tf.profile(async () => {
      await promptLogprobs(m, ids(n), 5);
    });
    assert.equal(tf.memory().numTensors, before, "every tensor is freed");
    return p.peakBytes;
  };
  const short = await peak(2 * ECHO_BLOCK), long = await peak(40 * ECHO_BLOCK);
  // One pass held every step's activations: 20× the prompt, 20× the peak.
  assert.ok(long <= short * 1.05, `peak ${long} bytes for a long prompt, ${short} for a short one`);
});

Deno.test("promptLogprobs() alternatives never list <unk>, which generation never writes", async () => {
  const m = await smallServedModel();
  const v = m.config.vocabSize;
  // All but one word per position: <unk> would be among them wherever it is not the least likely.
  const got = await promptLogprobs(m, ids(40), v - 1);
  for (const row of got.top) {
    assert.equal(row.length, v - 1);
    assert.ok(row.every(([id]) => id !== m.vocab.unk));
  }
});
