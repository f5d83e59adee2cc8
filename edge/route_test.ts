import assert from "node:assert/strict";
import { modelOf } from "./route.ts";

const URLS = new Map([
  ["ptb-ugru", "https://models.example/ptb-ugru"],
  ["ptb-urnn", "https://models.example/ptb-urnn"],
]);

const post = (body: string) =>
  new Request("https://rotor.example/v1/generate", { method: "POST", body });

Deno.test("modelOf() takes the model from the path, then the JSON body, else the default", async () => {
  const path = await modelOf(
    new Request("https://rotor.example/v1/models/ptb-urnn/tokenizer.json"),
    URLS,
  );
  assert.equal(path.name, "ptb-urnn");
  const named = await modelOf(post('{"model": "ptb-urnn", "prompt": "the"}'), URLS);
  assert.equal(named.name, "ptb-urnn");
  assert.equal(await named.request.text(), '{"model": "ptb-urnn", "prompt": "the"}');
  assert.equal((await modelOf(post('{"prompt": "the"}'), URLS)).name, "ptb-ugru");
  assert.equal((await modelOf(new Request("https://rotor.example/health"), URLS)).name, "ptb-ugru");
});

Deno.test("modelOf() sends unknown models, bad JSON and oversized bodies to the default, intact", async () => {
  for (const body of ['{"model": "nope"}', "{not json", '{"model": 3}']) {
    const r = await modelOf(post(body), URLS);
    assert.equal(r.name, "ptb-ugru", body);
    assert.equal(await r.request.text(), body);
  }
  const big = '{"model": "ptb-urnn", "prompt": "' + "x".repeat(100) + '"}';
  const r = await modelOf(post(big), URLS, 50);
  assert.equal(r.name, "ptb-ugru");
  assert.equal(await r.request.text(), big);
});
