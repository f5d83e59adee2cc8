import assert from "node:assert/strict";
import { Tokenizer } from "@huggingface/tokenizers";
import { DEFAULT_LIMITS } from "../limits.ts";
import { post, smallApp } from "../testing.ts";

Deno.test("GET /v1/models/{id}/tokenizer.json loads in a HuggingFace tokenizer and gives rotor's ids", async () => {
  const { app } = await smallApp();
  const json = await (await app.request("/v1/models/tiny/tokenizer.json")).json();
  const config = await (await app.request("/v1/models/tiny/tokenizer_config.json")).json();
  assert.equal(config.eos_token, "<eos>");
  const hf = new Tokenizer(json, config);
  const text = "The company said it is $ 5.\nIt's the w3 of 1990";
  const { tokens } = await (await app.request(post("/tokenize", { prompt: text }))).json();
  assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, tokens);
  assert.equal(tokens.length, 14); // "5." then a newline: one <eos>
  assert.equal((await app.request("/v1/models/nope/tokenizer.json")).status, 404);
});

Deno.test("GET /tokenizer_info and vLLM-style /tokenize, /detokenize bodies", async () => {
  const { app, model } = await smallApp();
  const info = await (await app.request("/tokenizer_info")).json();
  assert.equal(info.eos_token, "<eos>");
  assert.equal(info.bos_token, null);
  assert.equal(info.eos_token_id, model.vocab.eos);
  const r = await (await app.request(
    post("/tokenize", { prompt: "the w3\nit", return_token_strs: true }),
  )).json();
  const ids = ["the", "w3", "<eos>", "it"].map((w) => model.vocab.index.get(w));
  assert.deepEqual(r, {
    count: 4,
    max_model_len: r.max_model_len,
    tokens: ids,
    token_strs: ["the", "w3", "<eos>", "it"],
  });
  const d = await (await app.request(post("/detokenize", { tokens: ids }))).json();
  assert.deepEqual(d, { prompt: "the w3 <eos> it" });
  const bad = await app.request(post("/detokenize", { tokens: [1, 99] }));
  assert.equal(bad.status, 400);
  assert.match(
    (await bad.json()).error.message,
    /^Invalid "tokens.1" 99: token ids run from 0 to 31/,
  );
});

Deno.test("every route that advertises a length advertises the prompt limit the server enforces", async () => {
  const limit = 64;
  const { app } = await smallApp(undefined, { limits: { maxPromptTokens: limit } });
  const info = await (await app.request("/tokenizer_info")).json();
  const config = await (await app.request("/v1/models/tiny/tokenizer_config.json")).json();
  const models = await (await app.request("/v1/models")).json();
  const card = await (await app.request("/v1/models/tiny")).json();
  const tok = await (await app.request(post("/tokenize", { prompt: "the" }))).json();
  assert.deepEqual(
    [
      info.model_max_length,
      info.max_model_len,
      config.model_max_length,
      models.data[0].max_model_len,
      card.max_model_len,
      tok.max_model_len,
    ],
    Array(6).fill(limit),
  );
  // lm-eval's local-completions sends at most max_length − 1 tokens (context and continuation,
  // echoed, max_tokens 1); a client that keeps to the advertised length is never refused.
  const ask = (n: number) =>
    app.request(post("/v1/completions", {
      prompt: Array(n).fill(2),
      max_tokens: 1,
      echo: true,
      logprobs: 1,
      temperature: 0,
    }));
  const atLimit = await ask(limit);
  assert.equal(atLimit.status, 200);
  assert.equal((await atLimit.json()).choices[0].logprobs.token_logprobs.length, limit + 1);
  assert.equal((await ask(limit + 1)).status, 413);
});

Deno.test("a model folder's tokenizer_config.json advertises the server's default prompt limit", async () => {
  for (const name of ["ptb-ugru", "ptb-urnn"]) {
    const config = JSON.parse(await Deno.readTextFile(`models/${name}/tokenizer_config.json`));
    assert.equal(config.model_max_length, DEFAULT_LIMITS.maxPromptTokens, name);
  }
});
