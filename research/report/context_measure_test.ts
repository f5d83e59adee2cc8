import assert from "node:assert/strict";
import { CELL_KINDS } from "../../shared/config.ts";
import { loadModel } from "../../shared/model_format.ts";
import { scoreStream } from "../../shared/perplexity.ts";
import { createPrng } from "../../shared/prng.ts";
import { assertClose, saveSmallModel, smallModelAndStream, useWasm } from "../../shared/testing.ts";
import { tf } from "../../shared/tf.ts";
import { measureContext, windowLosses } from "./context_measure.ts";
import { sampleTargets } from "./context_perturb.ts";

/** The windows before `targets` in `stream`, row-major, and the target ids. */
function windowsOf(stream: Int32Array, targets: number[], L: number) {
  const windows = new Int32Array(targets.length * L);
  targets.forEach((t, r) => windows.set(stream.subarray(t - L, t), r * L));
  return { windows, ids: Int32Array.from(targets, (t) => stream[t]!) };
}

Deno.test("windowLosses() of an unperturbed window equals the shared scorer's loss", async () => {
  await useWasm();
  const L = 20;
  for (const cell of CELL_KINDS) {
    const m = await loadModel(await saveSmallModel({ cell, layers: 2 }, 3));
    const prng = createPrng(9);
    const stream = Int32Array.from({ length: 120 }, () => prng.int(m.config.vocabSize));
    const targets = [20, 47, 48, 119];
    const { windows, ids } = windowsOf(stream, targets, L);
    const got = windowLosses(m.params, m.config, windows, ids, L, 3);
    targets.forEach((t, r) => {
      // The scorer, from a zero state over the same L tokens, in windows of 7 steps.
      const s = scoreStream(m.params, m.config, stream.subarray(t - L, t + 1), {
        batch: 1,
        bptt: 7,
        perToken: true,
      });
      assertClose(got[r]!, -s.logprobs![L - 1]!, 1e-5, `${cell}, target ${t}`);
    });
  }
});

Deno.test("windowLosses() gives a window the same loss in any block, leaking no tensors", async () => {
  const { m, stream } = await smallModelAndStream(400, 2);
  const L = 30;
  const targets = sampleTargets(stream.length, L, 50, createPrng(1));
  const { windows, ids } = windowsOf(stream, targets, L);
  const before = tf.memory().numTensors;
  const one = windowLosses(m.params, m.config, windows, ids, L, 1);
  const all = windowLosses(m.params, m.config, windows, ids, L, 64);
  const odd = windowLosses(m.params, m.config, windows, ids, L, 7);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(all, one);
  assert.deepEqual(odd, one);
  assert.ok(one.every((v) => Number.isFinite(v) && v > 0));
  assert.throws(() => windowLosses(m.params, m.config, windows, ids, L + 1, 8), /window tokens/);
});

Deno.test("measureContext() costs nothing at d ≥ L and something when all far context changes", async () => {
  const { m, stream } = await smallModelAndStream(600, 4);
  const L = 40, distances = [1, 5, 39, 40, 100];
  const targets = sampleTargets(stream.length, L, 20, createPrng(5));
  const r = measureContext(m.params, m.config, stream, {
    targets,
    history: L,
    distances,
    seed: 1,
    block: 16,
    threshold: 0.01,
  });
  assert.equal(r.windows, 20 * (1 + 2 * distances.length));
  const { windows, ids } = windowsOf(stream, targets, L);
  const base = windowLosses(m.params, m.config, windows, ids, L, 16);
  assertClose(r.loss, base.reduce((s, v) => s + v, 0) / base.length, 1e-6, "unperturbed loss");
  for (const kind of ["shuffle", "replace"] as const) {
    const rows = r.perturbations[kind].rows;
    assert.deepEqual(rows.map((x) => x.d), distances);
    for (const x of rows.filter((x) => x.d >= L)) {
      assert.equal(x.increase, 0, `${kind} d = ${x.d}`);
      assert.equal(x.stderr, 0);
    }
    // An untrained model still reacts to 39 changed tokens of its 40.
    assert.notEqual(rows[0]!.increase, 0, kind);
    assert.ok(r.perturbations[kind].effectiveContext! <= L);
  }
});
