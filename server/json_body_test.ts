import assert from "node:assert/strict";
import { jsonDepth, MAX_JSON_DEPTH, preview } from "./json_body.ts";
import { post, smallApp } from "./testing.ts";

Deno.test("jsonDepth() counts nesting outside strings", () => {
  assert.equal(jsonDepth("3"), 0);
  assert.equal(jsonDepth('{"a": [1, {"b": []}]}'), 4);
  assert.equal(jsonDepth('{"a": "[[[[\\"{{{"}'), 1);
  assert.equal(jsonDepth("[".repeat(50_000) + "]".repeat(50_000)), 50_000);
});

Deno.test("preview() shows a bounded view of any value", () => {
  assert.equal(preview("abc"), '"abc"');
  assert.equal(preview("x".repeat(1000)).length, 63);
  assert.equal(preview(3), "3");
  assert.equal(preview(null), "null");
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(preview(deep), "(an array of 1)");
});

Deno.test("a deeply nested body is a 400, never a 500", async () => {
  const { app } = await smallApp();
  const deep = "[".repeat(50_000) + "]".repeat(50_000);
  for (const path of ["/v1/generate", "/v1/completions", "/v1/perplexity", "/detokenize"]) {
    for (const body of [deep, `{"prompt": ${deep}, "ids": ${deep}, "text": ${deep}}`]) {
      const res = await app.request(post(path, body));
      assert.equal(res.status, 400, path);
      assert.match(
        (await res.json()).error.message,
        new RegExp(`nests 5000\\d levels deep, more than the limit of ${MAX_JSON_DEPTH}`),
      );
    }
  }
  // Within the limit, a nested bad value is shown briefly.
  const res = await app.request(post("/v1/completions", { prompt: [[[["the"]]]] }));
  assert.equal(res.status, 400);
  assert.match((await res.json()).error.message, /^Invalid "prompt\.0\.0" \[\["the"\]\]: /);
});

Deno.test("a hostile model name or path is quoted briefly in the 404", async () => {
  const { app } = await smallApp();
  const name = "x".repeat(10_000);
  for (
    const res of [
      await app.request(post("/v1/generate", { model: name })),
      await app.request(`/v1/models/${name}`),
      await app.request(`/${name}`),
    ]
  ) {
    assert.equal(res.status, 404);
    assert.ok((await res.json()).error.message.length < 200);
  }
});
