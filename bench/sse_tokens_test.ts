import assert from "node:assert/strict";
import { readTokens } from "./sse_tokens.ts";

function body(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const s of chunks) c.enqueue(enc.encode(s));
      c.close();
    },
  });
}

Deno.test("readTokens() counts token frames, including ones split across chunks", async () => {
  const frame = (i: number) => `event: token\ndata: {"id":${i}}\n\n`;
  const seen: number[] = [];
  const r = await readTokens(
    body([
      frame(1) + frame(2),
      "event: tok",
      'en\ndata: {"id":3}\n\n',
      "event: sentence\ndata: {}\n\n",
      "event: token\r\ndata: {}\r\n\r\n",
      'event: done\ndata: {"finish_reason":"length"}\n\n',
    ]),
    { since: performance.now(), onTokens: (k) => seen.push(k) },
  );
  assert.equal(r.n, 4);
  assert.deepEqual(seen, [2, 1, 1]);
  assert.ok(r.first !== undefined && r.maxGapMs >= 0);
});

Deno.test("readTokens() reports no first token for a stream without one", async () => {
  const r = await readTokens(body(['event: error\ndata: {"error":{}}\n\n']));
  assert.deepEqual(r, { first: undefined, n: 0, maxGapMs: 0 });
});
