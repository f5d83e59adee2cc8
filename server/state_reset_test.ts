/** A model trained with its state reset every window is scored that way by every route. */
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadModel } from "../shared/model_format.ts";
import { tf } from "../shared/tf.ts";
import { scoreStream } from "../shared/perplexity.ts";
import { saveSmallModel, useWasm } from "../shared/testing.ts";
import { encode } from "../shared/vocab.ts";
import { createApp } from "./app.ts";
import { serveModel } from "./models.ts";
import { post } from "./testing.ts";

Deno.test("stateResetEvery: perplexity and echo logprobs read the text window by window", async () => {
  await useWasm();
  const dir = await saveSmallModel({ cell: "rnn" }, 3);
  try {
    const where = join(dir, "model.json");
    const meta = JSON.parse(await readFile(where, "utf8"));
    await writeFile(where, JSON.stringify({ ...meta, stateResetEvery: 5 }));
    const loaded = await loadModel(dir);
    assert.equal(loaded.meta.stateResetEvery, 5);
    // Untrained weights predict nearly uniformly whatever the state; scaled, the state matters.
    for (const [k, v] of Object.entries(loaded.params)) loaded.params[k] = tf.keep(tf.mul(v, 4));
    const model = serveModel("reset", loaded, { maxActive: 2, maxQueue: 2 });
    assert.equal(model.card.state_reset_every, 5);
    const app = createApp({ models: new Map([["reset", model]]) });

    const words = "the company said it would buy a stake <eos> the said it".split(" ");
    const text = words.join(" ");
    const stream = new Int32Array([model.vocab.eos, ...encode(model.vocab, words).ids]);
    const reset = scoreStream(loaded.params, loaded.config, stream, {
      batch: 1,
      bptt: 5,
      resetEachWindow: true,
      perToken: true,
    });
    const carried = scoreStream(loaded.params, loaded.config, stream, { batch: 1, bptt: 35 });
    assert.ok(Math.abs(reset.nll - carried.nll) > 1e-3, "the two readings differ here");

    const pp = await (await app.request(post("/v1/perplexity", { text, per_token: true })))
      .json();
    assert.ok(Math.abs(pp.nll - reset.nll) < 1e-4, `${pp.nll} vs ${reset.nll}`);

    const echo = await (await app.request(post("/v1/completions", {
      prompt: text,
      max_tokens: 0,
      echo: true,
      logprobs: 1,
    }))).json();
    const lp: number[] = echo.choices[0].logprobs.token_logprobs;
    assert.equal(lp.length, words.length);
    lp.forEach((x, i) => assert.ok(Math.abs(x - reset.logprobs![i]!) < 1e-4, `token ${i}`));
  } finally {
    await rm(dir, { recursive: true });
  }
});
