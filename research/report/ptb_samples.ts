/** Sampled sentences from shipped model folders: fixed seeds, a stated temperature. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { scoped, tf } from "../../shared/tf.ts";
import type { Tensor1D } from "../../shared/tf.ts";
import { loadModel } from "../../shared/model_format.ts";
import { disposeState, step, zeroState } from "../../shared/model.ts";
import { sampleToken } from "../../shared/sample.ts";
import { createPrng } from "../../shared/prng.ts";
import { detokenize } from "../../shared/tokenize.ts";
import { decode } from "../../shared/vocab.ts";
import type { Samples } from "./ptb_results.ts";

/**
 * One sentence per seed from each model folder that exists: the model reads `<eos>` (a
 * sentence start) and draws words, `<unk>` excluded, until `<eos>` or `maxTokens` words.
 */
export async function sampleModels(
  dirs: string[],
  o: { seeds: number[]; temperature: number; maxTokens: number },
): Promise<Samples> {
  const models: Samples["models"] = [];
  for (const dir of dirs) {
    if (!existsSync(join(dir, "model.json"))) {
      models.push({ dir, found: false, sentences: [] });
      continue;
    }
    const m = await loadModel(dir);
    const sentences = o.seeds.map((seed) => {
      const prng = createPrng(seed);
      let state = zeroState(m.config, 1);
      let token = m.vocab.eos;
      const ids: number[] = [];
      while (ids.length < o.maxTokens) {
        const logProbs = scoped(() => {
          const out = step(m.params, m.config, tf.tensor1d([token], "int32") as Tensor1D, state);
          out.state.forEach((l) => [l.h, l.c].forEach((t) => t && tf.keep(t)));
          disposeState(state);
          state = out.state;
          return out.logProbs.dataSync() as Float32Array;
        });
        token = sampleToken(logProbs, { temperature: o.temperature, exclude: [m.vocab.unk] }, prng);
        if (token === m.vocab.eos) break;
        ids.push(token);
      }
      disposeState(state);
      return { seed, text: detokenize(decode(m.vocab, ids)).trim() };
    });
    Object.values(m.params).forEach((t) => t.dispose());
    const testPpl = m.meta.metrics.test_ppl;
    const command = m.meta.provenance.command;
    models.push({
      dir,
      found: true,
      ...(testPpl !== undefined ? { testPpl } : {}),
      ...(typeof command === "string" ? { command } : {}),
      sentences,
    });
  }
  return { temperature: o.temperature, maxTokens: o.maxTokens, models };
}
