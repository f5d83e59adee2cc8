import assert from "node:assert/strict";
import {
  inBlocks,
  nextTurn,
  POLL_MS,
  SHARED_SLICE_MS,
  sharing,
  sliceMs,
  usersNow,
  yieldTask,
} from "./yield.ts";

Deno.test("yields are cheap turns, except every POLL_MS and while block work runs", async () => {
  await yieldTask(); // after a turn that polled, within POLL_MS: a cheap turn
  if (nextTurn() === "timer") await yieldTask(); // a slow machine: the poll was due
  assert.equal(nextTurn(), "immediate");
  await inBlocks(async () => {
    // A decoder sharing the thread with block work takes timer turns, so sockets are polled
    // between the blocks, not only after dozens of them.
    assert.equal(nextTurn(), "timer");
    await yieldTask();
    assert.equal(nextTurn(), "timer");
  });
  await assert.rejects(inBlocks(() => Promise.reject(new Error("a failed block"))));
  await yieldTask();
  if (nextTurn() === "timer") await yieldTask();
  assert.equal(nextTurn(), "immediate", "block work that failed is over too");
});

Deno.test("block work runs one computation at a time, in order, a failure not blocking", async () => {
  const log: string[] = [];
  const job = (name: string, fail = false) =>
    inBlocks(async () => {
      log.push(`${name} starts`);
      await yieldTask();
      await yieldTask();
      log.push(`${name} ends`);
      if (fail) throw new Error(name);
      return name;
    });
  const out = await Promise.allSettled([job("a"), job("b", true), job("c")]);
  assert.deepEqual(out.map((o) => o.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.deepEqual(log, ["a starts", "a ends", "b starts", "b ends", "c starts", "c ends"]);
});

Deno.test("block work whose client left while it waited gives up its turn", async () => {
  let release: (() => void) | undefined;
  const blocker = inBlocks(() => new Promise<void>((r) => release = r));
  const ac = new AbortController();
  let ran = false;
  const left = inBlocks(() => {
    ran = true;
    return Promise.resolve();
  }, ac.signal);
  const next = inBlocks(() => Promise.resolve("next"));
  ac.abort();
  while (!release) await new Promise((r) => setTimeout(r, 1)); // the blocker has started
  release();
  await blocker;
  await assert.rejects(left, (e: Error) => e.name === "AbortError");
  assert.equal(ran, false);
  assert.equal(await next, "next", "the queue goes on after a request that left");
});

Deno.test("computations in blocks take short turns only while the thread is shared", () => {
  const base = usersNow();
  const one = sharing();
  try {
    if (base === 0) assert.equal(sliceMs(), POLL_MS, "alone: the long turns");
    const two = sharing();
    assert.equal(usersNow(), base + 2);
    assert.equal(sliceMs(), SHARED_SLICE_MS);
    two();
    two(); // a second call changes nothing
    assert.equal(usersNow(), base + 1);
  } finally {
    one();
  }
  assert.equal(usersNow(), base);
});
