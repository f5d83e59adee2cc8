import assert from "node:assert/strict";
import { defaultBrowserPolicy, hostName, readBrowserEnv } from "./origin.ts";
import { smallApp } from "./testing.ts";

const body = JSON.stringify({ text: "the company" });

Deno.test("hostName() drops the port, brackets and a final dot", () => {
  assert.equal(hostName("LocalHost:8000"), "localhost");
  assert.equal(hostName("[::1]:8000"), "::1");
  assert.equal(hostName("localhost."), "localhost");
  assert.equal(hostName("127.0.0.1"), "127.0.0.1");
});

Deno.test("readBrowserEnv() allows loopback names and HOST, and checks CORS_ORIGINS", () => {
  assert.deepEqual(defaultBrowserPolicy("0.0.0.0").allowedHosts, ["localhost", "127.0.0.1", "::1"]);
  assert.deepEqual(readBrowserEnv({}, "10.0.0.5").allowedHosts, [
    "localhost",
    "127.0.0.1",
    "::1",
    "10.0.0.5",
  ]);
  assert.ok(
    readBrowserEnv({ ALLOWED_HOSTS: "rotor.example:443" }).allowedHosts.includes(
      "rotor.example",
    ),
  );
  assert.throws(
    () => readBrowserEnv({ CORS_ORIGINS: "example.com" }),
    /CORS_ORIGINS must list origins such as "https:\/\/example.com" or "\*", got "example.com"/,
  );
});

Deno.test("a text/plain or form POST is refused with 415 before any work", async () => {
  const { app } = await smallApp();
  for (const type of ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded", ""]) {
    const res = await app.request("http://localhost/v1/generate", {
      method: "POST",
      headers: type ? { "content-type": type } : {},
      body: JSON.stringify({ prompt: "the", max_tokens: 2 }),
    });
    assert.equal(res.status, 415, type);
    assert.match((await res.json()).error.message, /send the body as application\/json/);
  }
  const ok = await app.request("http://localhost/tokenize", {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    body,
  });
  assert.equal(ok.status, 200);
});

Deno.test("a foreign Host header is refused with 403; loopback names are served", async () => {
  const { app } = await smallApp();
  const get = (host: string) => app.request("http://x/health", { headers: { host } });
  assert.equal((await get("evil.example")).status, 403);
  assert.match((await (await get("evil.example:8000")).json()).error.message, /ALLOWED_HOSTS/);
  for (const host of ["localhost:8000", "127.0.0.1", "[::1]:8000"]) {
    assert.equal((await get(host)).status, 200, host);
  }
});

Deno.test("a cross-origin request is refused unless CORS_ORIGINS lets it in", async () => {
  const post = (origin: string) =>
    new Request("http://localhost:8000/tokenize", {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body,
    });
  const closed = (await smallApp()).app;
  const res = await closed.request(post("https://evil.example"));
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  // The playground's own POSTs carry the server's origin.
  assert.equal((await closed.request(post("http://localhost:8000"))).status, 200);

  const open = (await smallApp(undefined, {
    browser: { allowedHosts: ["localhost"], corsOrigins: ["https://app.example"] },
  })).app;
  const allowed = await open.request(post("https://app.example"));
  assert.equal(allowed.status, 200);
  assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example");
  const preflight = await open.request("http://localhost:8000/tokenize", {
    method: "OPTIONS",
    headers: { origin: "https://app.example", "access-control-request-method": "POST" },
  });
  assert.equal(preflight.status, 204);
  assert.match(preflight.headers.get("access-control-allow-headers")!, /content-type/);
  assert.equal((await open.request(post("https://other.example"))).status, 403);
});
