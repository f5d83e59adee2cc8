import assert from "node:assert/strict";
import { sseFrame, sseResponse } from "./sse.ts";

Deno.test("sseFrame() writes event and data lines, one data line per text line", () => {
  assert.equal(sseFrame('{"a":1}', "token"), 'event: token\ndata: {"a":1}\n\n');
  assert.equal(sseFrame("[DONE]"), "data: [DONE]\n\n");
  assert.equal(sseFrame("a\nb"), "data: a\ndata: b\n\n");
});

Deno.test("sseResponse() ends a failed stream with the error frame", async () => {
  const res = sseResponse(undefined, async (w) => {
    w.send("1", "token");
    await Promise.resolve();
    throw new Error("Step failed");
  }, (w, err) => w.send(JSON.stringify({ error: err.message }), "error"));
  assert.equal(
    await res.text(),
    'event: token\ndata: 1\n\nevent: error\ndata: {"error":"Step failed"}\n\n',
  );
});

Deno.test("sseResponse() aborts its writer's signal when the client cancels", async () => {
  let signal: AbortSignal | undefined;
  let release!: () => void;
  const res = sseResponse(undefined, async (w) => {
    signal = w.signal;
    w.send("1");
    await new Promise<void>((r) => release = r);
  }, () => {});
  const reader = res.body!.getReader();
  await reader.read();
  await reader.cancel();
  assert.equal(signal?.aborted, true);
  release();
});

Deno.test("sseResponse() sends a comment line while a stream is quiet, and none while busy", async () => {
  const res = sseResponse(
    undefined,
    async (w) => {
      await new Promise((r) => setTimeout(r, 400)); // quiet: a place in the batch is awaited
      w.send("1", "token");
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 5));
        w.send(String(i + 2), "token");
      }
    },
    () => {},
    100,
  );
  const text = await res.text();
  assert.match(text, /^(:\n\n)+event: token\ndata: 1\n\n/);
  assert.doesNotMatch(text.slice(text.indexOf("event:")), /^:/m);
});
