import assert from "node:assert/strict";
import { fetchBounded } from "./model_fetch.ts";

/** A loopback server for `handler`, and its URL; stopped by the returned function. */
function serve(handler: (req: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handler);
  return { url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

Deno.test("fetchBounded() refuses a redirect out of the model's prefix and follows one in it", async () => {
  let leaked = 0;
  const s = serve((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/secret") leaked++;
    if (path === "/m/out") return Response.redirect("http://127.0.0.1:1/secret", 302);
    if (path === "/m/up") {
      return new Response(null, { status: 301, headers: { location: "/secret" } });
    }
    if (path === "/m/moved") {
      return new Response(null, { status: 307, headers: { location: "/m/a" } });
    }
    if (path === "/m/loop") {
      return new Response(null, { status: 302, headers: { location: "/m/loop" } });
    }
    return new Response("abc");
  });
  try {
    const prefix = `${s.url}/m/`;
    await assert.rejects(
      fetchBounded(`${prefix}out`, { prefix, maxBytes: 10 }),
      /HTTP 302 redirects to "http:\/\/127.0.0.1:1\/secret", outside http:\/\/127.0.0.1:\d+\/m\//,
    );
    await assert.rejects(fetchBounded(`${prefix}up`, { prefix, maxBytes: 10 }), /outside/);
    await assert.rejects(
      fetchBounded(`${prefix}loop`, { prefix, maxBytes: 10 }),
      /more than 3 redirects/,
    );
    assert.equal(leaked, 0);
    const bytes = await fetchBounded(`${prefix}moved`, { prefix, maxBytes: 10 });
    assert.equal(new TextDecoder().decode(bytes), "abc");
  } finally {
    await s.stop();
  }
});

Deno.test("fetchBounded() refuses a file over its size limit, declared or streamed", async () => {
  const s = serve((req) =>
    new URL(req.url).pathname === "/m/declared" ? new Response("x".repeat(100)) : new Response(
      new ReadableStream({
        pull(c) {
          c.enqueue(new Uint8Array(64));
        },
      }),
    )
  );
  try {
    const prefix = `${s.url}/m/`;
    await assert.rejects(
      fetchBounded(`${prefix}declared`, { prefix, maxBytes: 99 }),
      /100 bytes, more than the limit of 99/,
    );
    await assert.rejects(
      fetchBounded(`${prefix}endless`, { prefix, maxBytes: 1000 }),
      /over 1000 bytes, more than the limit of 1000/,
    );
  } finally {
    await s.stop();
  }
});

Deno.test("fetchBounded() gives up on a server that never finishes", async () => {
  const s = serve(() =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array(4));
        },
      }),
    )
  );
  try {
    const prefix = `${s.url}/m/`;
    await assert.rejects(
      fetchBounded(`${prefix}slow`, { prefix, maxBytes: 1000, timeoutMs: 300 }),
      /no answer within 300 ms/,
    );
  } finally {
    await s.stop();
  }
});
