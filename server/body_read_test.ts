/** The body budgets over a real loopback connection, where resets and slow clients happen. */
import assert from "node:assert/strict";
import { smallApp } from "./testing.ts";
import type { Limits } from "./limits.ts";

async function serve(limits: Partial<Limits>) {
  const { app } = await smallApp(undefined, { limits });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  return { server, port: server.addr.port };
}

/** Send `head` and then `parts` (with `gapMs` between them) over TCP; the response's text. */
async function raw(port: number, head: string, parts: Uint8Array[], gapMs = 0) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  // A server that never answers fails the test instead of hanging it.
  const deadline = setTimeout(() => conn.close(), 10_000);
  const enc = new TextEncoder();
  const reading = (async () => {
    const buf = new Uint8Array(65536);
    let text = "";
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
        // A whole response: a JSON body, or the last chunk of a chunked one.
        if (/\r\n\r\n[\s\S]*(\}|\r\n0\r\n\r\n)$/.test(text)) break;
      }
    } catch (err) {
      text += `\n[${(err as Error).name}]`;
    }
    return text;
  })();
  try {
    await conn.write(enc.encode(head));
    for (const p of parts) {
      if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      let off = 0;
      while (off < p.length) off += await conn.write(p.subarray(off));
    }
  } catch {
    // the server may stop reading once it has answered
  }
  const text = await reading;
  clearTimeout(deadline);
  try {
    conn.close();
  } catch {
    // closed by the deadline
  }
  return text;
}

const headers = (len: number) =>
  `POST /tokenize HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${len}\r\n\r\n`;

Deno.test("a body that arrives too slowly is answered 408 and the connection closed", async () => {
  const { server, port } = await serve({ bodyTimeoutMs: 300 });
  try {
    const body = new TextEncoder().encode(JSON.stringify({ text: "the said" }));
    const slow = await raw(port, headers(body.length), [body.subarray(0, 3)], 0);
    assert.match(slow, /^HTTP\/1\.1 408 /);
    assert.match(slow, /"type":"request_timeout"/);
    assert.match(slow, /within 300 ms \(BODY_TIMEOUT_MS\)/);
  } finally {
    await server.shutdown();
  }
  // Pieces that keep coming within the budget (a minute: a busy machine cannot miss it) are
  // read as one body.
  const { server: patient, port: p2 } = await serve({ bodyTimeoutMs: 60_000 });
  try {
    const body = new TextEncoder().encode(JSON.stringify({ text: "the said" }));
    const pieces = [body.subarray(0, 5), body.subarray(5, 12), body.subarray(12)];
    const ok = await raw(p2, headers(body.length), pieces, 30);
    assert.match(ok, /^HTTP\/1\.1 200 /);
    assert.match(ok, /"tokens":\["the","said"\]/);
  } finally {
    await patient.shutdown();
  }
});

/** Descriptors this process holds (Linux); undefined where /proc is not there. */
function openFds(): number | undefined {
  try {
    return [...Deno.readDirSync("/proc/self/fd")].length;
  } catch {
    return undefined;
  }
}

Deno.test("bodies timed out by the hundred leave no connection open behind them", async () => {
  const { server, port } = await serve({ bodyTimeoutMs: 200 });
  try {
    const body = new TextEncoder().encode(JSON.stringify({ text: "the said" }));
    const before = openFds();
    if (before === undefined) return;
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => raw(port, headers(body.length), [body.subarray(0, 3)])),
    );
    for (const a of answers) assert.match(a, /^HTTP\/1\.1 408 /);
    // Each client has closed its end; the server must close its own, not keep it until exit
    // (it did while the metrics middleware read a buffered answer's body as a stream).
    let after = openFds()!;
    for (let i = 0; i < 50 && after > before + 10; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = openFds()!;
    }
    assert.ok(after <= before + 10, `${after - before} descriptors left open by 100 clients`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("an oversized body gets its 413, not a reset connection", async () => {
  const { server, port } = await serve({ maxBodyBytes: 1000 });
  try {
    const big = new Uint8Array(12_000).fill(0x20);
    const r = await raw(port, headers(big.length), [big]);
    assert.match(r, /^HTTP\/1\.1 413 /);
    assert.match(r, /larger than the limit of 1000 bytes \(MAX_BODY_BYTES\)/);
    // fetch, sending in chunks with no length declared.
    const res = await fetch(`http://127.0.0.1:${port}/v1/perplexity`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Blob([big, big]).stream(),
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.type, "request_too_large");
  } finally {
    await server.shutdown();
  }
});
