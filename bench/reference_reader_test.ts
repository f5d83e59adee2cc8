import assert from "node:assert/strict";
import { join } from "node:path";
import { CELL_KINDS } from "../shared/config.ts";
import { loadModel } from "../shared/model_format.ts";
import { scoreStream } from "../shared/perplexity.ts";
import { createPrng } from "../shared/prng.ts";
import { saveSmallModel, tempDir, useWasm } from "../shared/testing.ts";
import { quiet, smallRunArgs, writeSmallCorpus } from "../trainer/testing.ts";
import { train } from "../trainer/train.ts";
import { createApp } from "../server/app.ts";
import { serveModel } from "../server/models.ts";
import { post } from "../server/testing.ts";
import { ptbIds, readRefModel, refScore } from "./reference_reader.ts";

Deno.test("the float64 reader scores every cell as rotor does", async () => {
  await useWasm();
  for (const cell of CELL_KINDS) {
    const activation = cell === "curnn" ? "modrelu" : "tanh";
    const dir = await saveSmallModel({ cell, activation, layers: 2 }, 4);
    const m = await loadModel(dir), ref = await readRefModel(dir);
    const prng = createPrng(2);
    const ids = Int32Array.from({ length: 30 }, () => prng.int(m.config.vocabSize));
    const eos = m.vocab.words.indexOf("<eos>");
    const got = scoreStream(m.params, m.config, Int32Array.from([eos, ...ids]), {
      batch: 1,
      bptt: 7,
      perToken: true,
    }).logprobs!;
    const want = refScore(ref, ids);
    want.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-4, `${cell} token ${i}`));
  }
});

Deno.test("ptbIds() reads a split as the format's one stream", () => {
  const words = ["<unk>", "<eos>", "a", "b"];
  assert.deepEqual(ptbIds(" a b \n b zz \n", words), [2, 3, 1, 3, 0, 1]);
});

for (const cell of ["curnn", "cugru"] as const) {
  Deno.test(`a ${cell} from train --dry-run is served, and scored as the reader scores it`, async () => {
    await useWasm();
    const data = await writeSmallCorpus(3), runs = await tempDir();
    const args = smallRunArgs(data, runs, cell);
    await quiet(() => train([...args, "--cell", cell, "--dry-run"]));
    const dir = join(runs, cell, "model");
    const model = serveModel(cell, await loadModel(dir), { maxActive: 4, maxQueue: 4 });
    const app = createApp({ models: new Map([[cell, model]]) });
    const gen = await (await app.request(post("/v1/generate", {
      prompt: "the company said",
      max_tokens: 8,
      seed: 1,
      stream: false,
    }))).json();
    assert.ok(gen.tokens.length >= 1 && gen.tokens.length <= 8, JSON.stringify(gen));
    assert.ok(gen.tokens.every((t: { logprob: number }) => t.logprob <= 0));
    const text = "the company said N shares";
    const pp = await (await app.request(post("/v1/perplexity", { text, per_token: true })))
      .json();
    const ref = await readRefModel(dir);
    const ids = pp.per_token.map((t: { token: string }) => ref.words.indexOf(t.token));
    const want = refScore(ref, ids);
    want.forEach((v, i) => assert.ok(Math.abs(pp.per_token[i].logprob - v) < 1e-4, `token ${i}`));
    const echo = await (await app.request(post("/v1/completions", {
      prompt: text,
      max_tokens: 0,
      echo: true,
      logprobs: 1,
    }))).json();
    const lp = echo.choices[0].logprobs.token_logprobs;
    want.forEach((v, i) => assert.ok(Math.abs(lp[i] - v) < 1e-4, `echo token ${i}`));
    model.engine.close(new Error("test over"));
  });
}
