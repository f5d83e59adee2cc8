import assert from "node:assert/strict";
import {
  createConnectionTable,
  defaultMaxConnections,
  EVICT_IDLE_MS,
  MAX_HEAD_BYTES,
  readConnectionEnv,
} from "./connections.ts";

const enc = new TextEncoder();
const limits = { maxConnections: 2, headersTimeoutMs: 1000, idleTimeoutMs: 5000 };

function table() {
  const closed: string[] = [];
  const t = createConnectionTable(limits);
  const admit = (name: string, now: number) => t.admit(() => closed.push(name), now);
  return { t, closed, admit };
}

Deno.test("defaultMaxConnections() leaves a reserve of descriptors, three per connection", () => {
  assert.equal(defaultMaxConnections(256), 64); // (256 − 64) / 3
  assert.equal(defaultMaxConnections(1024), 298); // (1024 − 128) / 3
  assert.equal(defaultMaxConnections(20000), 5833); // (20000 − 2500) / 3
  assert.equal(defaultMaxConnections(16), 8);
});

Deno.test("readConnectionEnv() reads MAX_CONNECTIONS and the timeouts, refusing bad values", () => {
  assert.deepEqual(readConnectionEnv({}, 256), {
    maxConnections: 64,
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 30_000,
  });
  assert.equal(readConnectionEnv({ MAX_CONNECTIONS: "10" }, 256).maxConnections, 10);
  assert.throws(
    () => readConnectionEnv({ IDLE_TIMEOUT_MS: "soon" }, 256),
    /IDLE_TIMEOUT_MS must be a positive integer, got "soon"/,
  );
});

Deno.test("the table at its cap closes the longest-silent connection for a newcomer", () => {
  const { t, closed, admit } = table();
  const a = admit("a", 0)!, b = admit("b", 10)!;
  assert.ok(t.fromClient(b, enc.encode("GET / HTTP/1.1\r\n\r\n"), 20));
  t.fromServer(b, 30);
  assert.ok(admit("c", 30 + EVICT_IDLE_MS));
  assert.deepEqual(closed, ["a"]);
  assert.equal(t.open(), 2);
  assert.equal(t.stats.evicted, 1);
  assert.ok(a);
});

Deno.test("the table at its cap refuses a newcomer when every connection is busy", () => {
  const { t, closed, admit } = table();
  for (const name of ["a", "b"]) {
    const c = admit(name, 0)!;
    t.fromClient(c, enc.encode("POST / HTTP/1.1\r\n\r\n{"), 0); // waiting for its answer
  }
  assert.equal(admit("c", 10_000), undefined);
  assert.deepEqual(closed, []);
  assert.equal(t.stats.refused, 1);
});

Deno.test("the table closes a connection whose request head is late, and an idle one", () => {
  const { t, closed, admit } = table();
  const slow = admit("slow", 0)!;
  t.fromClient(slow, enc.encode("GET / HTTP/1.1\r\nhost"), 500);
  const idle = admit("idle", 0)!;
  t.fromClient(idle, enc.encode("GET / HTTP/1.1\r\n\r\n"), 10);
  t.fromServer(idle, 20);
  t.sweep(999);
  assert.deepEqual(closed, []);
  t.sweep(1001);
  assert.deepEqual(closed, ["slow"]);
  t.sweep(5020);
  assert.deepEqual(closed, ["slow"]);
  t.sweep(5021);
  assert.deepEqual(closed, ["slow", "idle"]);
});

Deno.test("the table gives a connection waiting for its answer ten idle timeouts", () => {
  const { t, closed, admit } = table();
  const c = admit("c", 0)!;
  t.fromClient(c, enc.encode('POST / HTTP/1.1\r\n\r\n{"prompt": "the"}'), 0);
  t.sweep(50_000);
  assert.deepEqual(closed, []);
  t.sweep(50_001);
  assert.deepEqual(closed, ["c"]);
});

Deno.test("the table refuses an HTTP/2 preface and an endless head", () => {
  const { t, admit } = table();
  const h2 = admit("h2", 0)!;
  assert.ok(t.fromClient(h2, enc.encode("PRI * HTTP"), 0), "a prefix may still be HTTP/1");
  assert.equal(t.fromClient(h2, enc.encode("/2.0\r\n\r\nSM\r\n\r\n"), 0), false);
  const long = admit("long", 0)!;
  assert.equal(t.fromClient(long, new Uint8Array(MAX_HEAD_BYTES + 1).fill(65), 0), false);
});
