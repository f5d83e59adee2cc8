import assert from "node:assert/strict";
import { immediate } from "./immediate.ts";

Deno.test("immediate() runs callbacks in order, after the current task and its microtasks", async () => {
  const seen: string[] = [];
  const done = new Promise<void>((resolve) => {
    immediate(() => seen.push("a"));
    immediate(() => {
      seen.push("b");
      resolve();
    });
  });
  queueMicrotask(() => seen.push("micro"));
  seen.push("sync");
  await done;
  assert.deepEqual(seen, ["sync", "micro", "a", "b"]);
});

Deno.test("immediate() falls back to a MessageChannel where setImmediate is missing", async () => {
  const g = globalThis as { setImmediate?: unknown };
  const saved = g.setImmediate;
  delete g.setImmediate;
  try {
    // A fresh module instance picks its turn without setImmediate.
    const mod = await import(`./immediate.ts?fallback`);
    const order: number[] = [];
    await new Promise<void>((resolve) => {
      mod.immediate(() => order.push(1));
      mod.immediate(() => {
        order.push(2);
        resolve();
      });
    });
    assert.deepEqual(order, [1, 2]);
  } finally {
    g.setImmediate = saved;
  }
});
