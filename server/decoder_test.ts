import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import { parseModelConfig } from "../shared/config.ts";
import { disposeState, initParams, step, zeroState } from "../shared/model.ts";
import { useWasm } from "../shared/testing.ts";
import { createDecoder } from "./decoder.ts";

for (const cell of ["ugru", "lstm", "urnn"] as const) {
  Deno.test(`createDecoder() steps a ${cell} like step() does`, async () => {
    await useWasm();
    const cfg = parseModelConfig({
      cell,
      vocabSize: 12,
      embedSize: 6,
      hiddenSize: 6,
      layers: 2,
      tieWeights: true,
    });
    const params = initParams(cfg, 3);
    const dec = createDecoder(params, cfg);
    let a = zeroState(cfg, 2), b = zeroState(cfg, 2);
    for (const ids of [[1, 2], [3, 4], [5, 0]]) {
      const ref = step(params, cfg, tf.tensor1d(ids, "int32"), a);
      const got = dec.step(Int32Array.from(ids), b);
      const want = tf.tidy(() => tf.logSoftmax(got.logits));
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(want, ref.logProbs))).dataSync()[0]!);
      assert.ok(diff < 1e-5, `log-probabilities differ by ${diff}`);
      [ref.logProbs, got.logits, want].forEach((t) => t.dispose());
      disposeState(a);
      disposeState(b);
      a = ref.state;
      b = got.state;
    }
    disposeState(a);
    disposeState(b);
    dec.dispose();
    Object.values(params).forEach((t) => t.dispose());
  });
}
