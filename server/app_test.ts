import assert from "node:assert/strict";
import { frames, post, smallApp } from "./testing.ts";

Deno.test("createApp() answers bad bodies with 400 naming the field and range", async () => {
  const { app } = await smallApp();
  const cases: [string, unknown, string, RegExp][] = [
    ["/v1/generate", { max_tokens: 5000 }, "max_tokens", /5000.*<=2048/],
    ["/v1/generate", { temperature: -1 }, "temperature", /-1.*>=0/],
    ["/v1/generate", { prompt: 3 }, "prompt", /3.*string/],
    ["/v1/generate", { colour: "red" }, "", /colour/],
    ["/v1/completions", { n: 0 }, "n", /0.*>=1/],
    ["/v1/completions", { logprobs: 9 }, "logprobs", /9.*<=5/],
    ["/v1/perplexity", {}, "text", /exactly one/],
    ["/detokenize", { ids: [99] }, "ids.0", /99.*32 words/],
  ];
  for (const [path, body, param, message] of cases) {
    const res = await app.request(post(path, body));
    assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
    const { error } = await res.json();
    assert.equal(error.type, "invalid_request_error");
    if (param) assert.equal(error.param, param);
    assert.match(error.message, message);
  }
  const res = await app.request(post("/v1/generate", "{not json"));
  assert.equal(res.status, 400);
  assert.match((await res.json()).error.message, /^Body is not valid JSON/);
});

Deno.test("createApp() answers 404 for an unknown model or route, 413 for big bodies", async () => {
  const { app } = await smallApp(undefined, { limits: { maxBodyBytes: 1000, maxScoreTokens: 10 } });
  let res = await app.request(post("/v1/generate", { model: "nope" }));
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), {
    error: {
      message: 'Model "nope" does not exist; available: tiny',
      type: "not_found_error",
      param: "model",
    },
  });
  res = await app.request("/v2/nothing");
  assert.equal(res.status, 404);
  res = await app.request(post("/v1/perplexity", { text: "x".repeat(2000) }));
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.type, "request_too_large");
  res = await app.request(
    post("/v1/perplexity", { text: "the the the the the the the the the the the" }),
  );
  assert.equal(res.status, 413);
  assert.match((await res.json()).error.message, /11 tokens, more than the limit of 10/);
});

Deno.test("POST /v1/generate streams exact token, sentence and done frames", async () => {
  const { app } = await smallApp();
  const body = { prompt: "the company said", max_tokens: 25, seed: 42, temperature: 1 };
  const json = await (await app.request(post("/v1/generate", { ...body, stream: false }))).json();
  const res = await app.request(post("/v1/generate", body));
  assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const got = frames(await res.text());
  const want: string[] = [];
  let s = 0;
  for (const t of json.tokens) {
    want.push(`event: token\ndata: ${JSON.stringify(t)}`);
    if (t.text === "<eos>") {
      want.push(`event: sentence\ndata: ${JSON.stringify(json.sentences[s++])}`);
    }
  }
  assert.deepEqual(got.slice(0, -1), want);
  const done = got.at(-1)!;
  assert.match(
    done,
    /^event: done\ndata: \{"finish_reason":"length","generated_tokens":25,"seed":42,/,
  );
  assert.equal(json.tokens.length, 25);
  assert.ok(json.tokens.every((t: { text: string }) => t.text !== "<unk>"));
  assert.equal(json.text.split("\n").length - 1, json.sentences.length);
});

Deno.test("POST /v1/generate stops at max_sentences and at a stop string", async () => {
  const { app } = await smallApp();
  const base = { max_tokens: 400, seed: 3, stream: false };
  const a = await (await app.request(post("/v1/generate", { ...base, max_sentences: 2 }))).json();
  assert.equal(a.finish_reason, "sentences");
  assert.equal(a.sentences.length, 2);
  const word = a.tokens[2].text;
  const b = await (await app.request(post("/v1/generate", { ...base, stop: [` ${word}`] }))).json();
  assert.equal(b.finish_reason, "stop");
  assert.ok(!b.text.includes(` ${word}`) || b.text.indexOf(` ${word}`) < 0);
  assert.equal(b.tokens.length < a.tokens.length, true);
});

Deno.test("POST /v1/completions echoes prompt logprobs, the first read after <eos>", async () => {
  const { app, model } = await smallApp();
  const res = await app.request(post("/v1/completions", {
    prompt: "the company said it",
    max_tokens: 0,
    echo: true,
    logprobs: 2,
  }));
  const r = await res.json();
  const ch = r.choices[0];
  assert.equal(ch.text, "the company said it");
  assert.deepEqual(ch.logprobs.tokens, ["the", " company", " said", " it"]);
  assert.deepEqual(ch.logprobs.text_offset, [0, 3, 11, 16]);
  // The same numbers /v1/perplexity gives, per token.
  const pp = await (await app.request(post("/v1/perplexity", {
    text: "the company said it",
    per_token: true,
  }))).json();
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(ch.logprobs.token_logprobs[i] - pp.per_token[i].logprob) < 1e-5);
    const top = Object.entries(ch.logprobs.top_logprobs[i]) as [string, number][];
    assert.equal(top.length, 2);
    assert.ok(top[0]![1] >= top[1]![1] && top[0]![1] >= ch.logprobs.token_logprobs[i]);
  }
  assert.deepEqual(r.usage, { prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 });
  assert.equal(model.vocab.index.has("company"), false);
});

Deno.test("GET /v1/models, /health, /metrics and / describe the server", async () => {
  const { app } = await smallApp(undefined, { backend: "wasm" });
  const models = await (await app.request("/v1/models")).json();
  assert.equal(models.data[0].id, "tiny");
  assert.equal(models.data[0].architecture.cell, "ugru");
  assert.equal(models.data[0].vocab_size, 32);
  assert.deepEqual(await (await app.request("/health")).json(), {
    status: "ok",
    backend: "wasm",
    models: ["tiny"],
  });
  await app.request(post("/v1/generate", { max_tokens: 3, stream: false }));
  const text = await (await app.request("/metrics")).text();
  assert.match(text, /rotor_requests_total\{route="\/v1\/generate",status="200"\} 1/);
  assert.match(text, /rotor_tokens_generated_total\{model="tiny"\} 3/);
  assert.match(text, /rotor_active_streams\{model="tiny"\} 0/);
  assert.match(text, /rotor_time_per_token_seconds_count 3/);
  const page = await app.request("/");
  assert.match(await page.text(), /<title>rotor playground<\/title>/);
});

Deno.test("POST /tokenize and /detokenize round-trip", async () => {
  const { app } = await smallApp();
  const t = await (await app.request(post("/tokenize", { text: "It said the zebra's." }))).json();
  assert.deepEqual(t.tokens, ["it", "said", "the", "zebra", "'s", "<eos>"]);
  assert.equal(t.oov_tokens, 1);
  const d = await (await app.request(post("/detokenize", { ids: t.ids }))).json();
  assert.equal(d.text, "it said the <unk>'s\n");
});

Deno.test("GET /health is 503 until models are loaded", async () => {
  const { app } = await smallApp(undefined, { ready: () => false });
  assert.equal((await app.request("/health")).status, 503);
});
