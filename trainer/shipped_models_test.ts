/** The models shipped in models/: each loads and generates, and the default's recorded
 * test perplexity is what the evaluation code measures. */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { scoped, tf } from "../shared/tf.ts";
import type { Tensor1D } from "../shared/tf.ts";
import { loadModel } from "../shared/model_format.ts";
import { disposeState, step, zeroState } from "../shared/model.ts";
import { createPrng } from "../shared/prng.ts";
import { sampleToken } from "../shared/sample.ts";
import { COLUMNS, evalStream } from "../shared/eval_protocol.ts";
import { scoreStream } from "../shared/perplexity.ts";
import { ptbForTests, ptbTokens, readPtbSplit } from "../shared/ptb.ts";
import { encode } from "../shared/vocab.ts";
import { useWasm } from "../shared/testing.ts";

const MODELS = new URL("../models/", import.meta.url).pathname;
const shipped = existsSync(MODELS)
  ? readdirSync(MODELS).filter((d) => existsSync(join(MODELS, d, "model.json")))
  : [];

Deno.test("every folder under models/ loads and generates a sentence", async () => {
  if (shipped.length === 0) return void console.warn("\n*** SKIPPED: no model under models/ ***\n");
  await useWasm();
  for (const name of shipped) {
    const m = await loadModel(join(MODELS, name));
    const prng = createPrng(1);
    let state = zeroState(m.config, 1);
    let token = m.vocab.eos;
    const words: string[] = [];
    for (let i = 0; i < 40; i++) {
      const out = scoped(() => {
        const o = step(m.params, m.config, tf.tensor1d([token], "int32") as Tensor1D, state);
        const keep = o.state.map((l) => ({ h: tf.keep(l.h), ...(l.c ? { c: tf.keep(l.c) } : {}) }));
        return { logProbs: tf.keep(o.logProbs), state: keep };
      });
      const lp = out.logProbs.dataSync() as Float32Array;
      out.logProbs.dispose();
      disposeState(state);
      state = out.state;
      token = sampleToken(lp, { temperature: 0.8, exclude: [m.vocab.unk] }, prng);
      if (token === m.vocab.eos) break;
      words.push(m.vocab.words[token]!);
    }
    assert.ok(words.length > 0, `${name} generated nothing`);
  }
});

Deno.test("the default model's recorded PTB test perplexity (columns) is what eval measures", async () => {
  const dir = join(MODELS, "ptb-ugru");
  if (!existsSync(join(dir, "model.json"))) {
    return void console.warn("\n*** SKIPPED: models/ptb-ugru is not shipped ***\n");
  }
  const data = await ptbForTests();
  if (!data) return;
  await useWasm();
  const m = await loadModel(dir);
  const ids = encode(m.vocab, ptbTokens(await readPtbSplit(data, "test"))).ids;
  // The column layout: the one-stream figure (test_ppl) takes minutes to recompute.
  const got = scoreStream(m.params, m.config, evalStream(m.vocab.eos, ids), COLUMNS).perplexity;
  const recorded = m.meta.metrics.test_ppl_columns!;
  assert.ok(Math.abs(got / recorded - 1) < 1e-4, `measured ${got}, model.json says ${recorded}`);
});
