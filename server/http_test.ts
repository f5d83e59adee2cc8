/** The app behind a real HTTP server on a loopback port: streams, disconnects, capacity. */
import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { tf } from "../shared/tf.ts";
import type { EngineOptions } from "./engine.ts";
import { smallApp } from "./testing.ts";

async function serve(engine: EngineOptions) {
  const { app, model } = await smallApp(engine);
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const postJson = (path: string, body: unknown, signal?: AbortSignal) =>
    fetch(url + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  return { url, model, server, postJson };
}

/** Read SSE frames from a response until `until` says stop; returns the frames read. */
async function readFrames(res: Response, until: (frames: string[]) => boolean) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const out: string[] = [];
  while (!until(out)) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      out.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
  }
  return { frames: out, reader };
}

const waitFor = async (ok: () => boolean, ms = 3000) => {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error("Timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
};

Deno.test("HTTP: a generation streams, and a client that leaves frees its stream", async () => {
  const { model, server, postJson } = await serve({ maxActive: 4, maxQueue: 4 });
  try {
    await (await postJson("/v1/generate", { max_tokens: 2, stream: false })).json(); // warm up
    const idle = tf.memory().numTensors;
    const full = await postJson("/v1/generate", { prompt: "the", max_tokens: 40, seed: 1 });
    const all = await readFrames(full, () => false);
    assert.equal(all.frames.filter((f) => f.startsWith("event: token")).length, 40);
    assert.match(all.frames.at(-1)!, /^event: done\ndata: \{"finish_reason":"length"/);

    const ac = new AbortController();
    const res = await postJson("/v1/generate", { max_tokens: 2048, seed: 2 }, ac.signal);
    const part = await readFrames(res, (f) => f.length >= 5);
    assert.equal(model.engine.stats().active, 1);
    ac.abort();
    await part.reader.cancel().catch(() => {});
    await waitFor(() => model.engine.stats().active === 0);
    assert.equal(tf.memory().numTensors, idle);
  } finally {
    await server.shutdown();
  }
});

Deno.test("HTTP: past the batch and the queue, 429 with Retry-After; tensors back to idle", async () => {
  const { model, server, postJson } = await serve({ maxActive: 1, maxQueue: 1 });
  try {
    await (await postJson("/v1/generate", { max_tokens: 1, stream: false })).json();
    const idle = tf.memory().numTensors;
    const ac = new AbortController();
    const a = await postJson("/v1/generate", { max_tokens: 2048 }, ac.signal);
    const b = await postJson("/v1/generate", { max_tokens: 2048 }, ac.signal);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const c = await postJson("/v1/generate", { max_tokens: 5 });
    assert.equal(c.status, 429);
    assert.equal(c.headers.get("retry-after"), "1");
    assert.equal((await c.json()).error.type, "rate_limit_error");
    const d = await postJson("/v1/completions", { prompt: "the", max_tokens: 5 });
    assert.equal(d.status, 429);
    await d.body?.cancel();
    ac.abort();
    await a.body?.cancel().catch(() => {});
    await b.body?.cancel().catch(() => {});
    await waitFor(() => model.engine.stats().active + model.engine.stats().queued === 0);
    // A failed request (bad model) and a finished one leave nothing behind either.
    assert.equal((await postJson("/v1/generate", { model: "x" })).status, 404);
    const e = await postJson("/v1/generate", { max_tokens: 3, stream: false });
    assert.equal((await e.json()).generated_tokens, 3);
    assert.equal(tf.memory().numTensors, idle);
  } finally {
    await server.shutdown();
  }
});

Deno.test("HTTP: /v1/completions streams OpenAI chunks an SSE parser reads", async () => {
  const { server, postJson } = await serve({ maxActive: 8, maxQueue: 8 });
  try {
    const body = { prompt: ["the", "it said"], n: 2, max_tokens: 12, seed: 9, logprobs: 1 };
    const whole = await (await postJson("/v1/completions", body)).json();
    const res = await postJson("/v1/completions", { ...body, stream: true });
    const events: string[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e.data) });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const texts = ["", "", "", ""], reasons: (string | null)[] = [null, null, null, null];
    for (const ch of chunks) {
      assert.equal(ch.object, "text_completion");
      const c = ch.choices[0];
      texts[c.index] += c.text;
      if (c.finish_reason) reasons[c.index] = c.finish_reason;
      if (c.text && c.finish_reason === null) {
        assert.deepEqual(c.logprobs.tokens, [c.text]);
        assert.equal(Object.keys(c.logprobs.top_logprobs[0]).length, 1);
      }
    }
    // Seeds are per choice, so streaming and not give the same four texts.
    assert.deepEqual(texts, whole.choices.map((c: { text: string }) => c.text));
    assert.deepEqual(reasons, ["length", "length", "length", "length"]);
    assert.equal(whole.usage.completion_tokens, 48);
    assert.equal(whole.choices[0].logprobs.tokens.length, 12);
  } finally {
    await server.shutdown();
  }
});
