import assert from "node:assert/strict";
import { createConnectionTable } from "./connections.ts";
import { collectAfterBursts, GC_AFTER_ACCEPTED, GC_BELOW_OPEN } from "./front_gc.ts";
import { DENO_SERVE_FLAGS } from "./startup.ts";

const limits = { maxConnections: 10_000, idleTimeoutMs: 5000, headersTimeoutMs: 5000 };

Deno.test("collectAfterBursts() collects once per burst, after it has passed", () => {
  const table = createConnectionTable(limits);
  const calls: unknown[] = [];
  const collect = collectAfterBursts(table, (o) => calls.push(o));
  const open = Array.from({ length: GC_AFTER_ACCEPTED }, () => table.admit(() => {})!);
  assert.equal(collect(), false, "the burst is still open");
  for (const t of open.slice(0, GC_AFTER_ACCEPTED - GC_BELOW_OPEN)) table.remove(t);
  assert.equal(collect(), false, `${GC_BELOW_OPEN} still open`);
  table.remove(open.at(-1)!);
  assert.equal(collect(), true);
  assert.deepEqual(calls, [{ type: "major", execution: "sync", flavor: "last-resort" }]);
  assert.equal(collect(), false, "no new connections since");
  for (let i = 0; i < GC_AFTER_ACCEPTED - 1; i++) table.remove(table.admit(() => {})!);
  assert.equal(collect(), false, "one short of the next burst");
  table.remove(table.admit(() => {})!);
  assert.equal(collect(), true);
  assert.equal(calls.length, 2);
});

Deno.test("collectAfterBursts() does nothing where the runtime exposes no gc", () => {
  const table = createConnectionTable(limits);
  const collect = collectAfterBursts(table, undefined);
  for (let i = 0; i < GC_AFTER_ACCEPTED * 2; i++) table.remove(table.admit(() => {})!);
  assert.equal(collect(), false);
});

Deno.test("the server's Deno flags expose gc to a worker thread (the front's)", async () => {
  const worker = `self.postMessage(typeof globalThis.gc)`;
  const main = `const w = new Worker(URL.createObjectURL(new Blob([${
    JSON.stringify(worker)
  }], { type: "text/javascript" })), { type: "module" });
    w.onmessage = (e) => { console.log(e.data); w.terminate(); };`;
  const run = (flags: string[]) =>
    new Deno.Command(Deno.execPath(), { args: ["eval", ...flags, main], stderr: "inherit" })
      .output().then((o) => new TextDecoder().decode(o.stdout).trim());
  assert.equal(await run(DENO_SERVE_FLAGS), "function");
  assert.equal(await run([]), "undefined");
});
