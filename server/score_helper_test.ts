import assert from "node:assert/strict";
import { scoreStream } from "../shared/perplexity.ts";
import { assertClose, smallModelAndStream } from "../shared/testing.ts";
import { createScoreHelper, readInPieces, scoreShared } from "./score_helper.ts";
import { HELPER_NICE } from "./thread_priority.ts";

Deno.test("scoreShared() on two threads gives the one-thread score, then the worker stops when idle", async () => {
  const { m, stream } = await smallModelAndStream(2001, 4);
  const opts = { batch: 10, bptt: 64, perToken: true };
  const one = scoreStream(m.params, m.config, stream, opts);
  const helper = createScoreHelper(m.config, m.params, 300);
  try {
    const two = await scoreShared(m.config, m.params, stream, opts, [helper]);
    assert.equal(two.tokens, 2000);
    assertClose(two.nll, one.nll, 1e-9);
    assert.deepEqual(two.logprobs, one.logprobs, "every token's logprob, wherever it was scored");
    assert.ok(helper.running());
    // Linux keeps a nice value per thread: the worker lowered its own, not the process's.
    if (Deno.build.os === "linux") {
      assert.equal(helper.nice(), HELPER_NICE);
      assert.equal(
        Deno.readTextFileSync("/proc/thread-self/stat").split(") ")[1]!.split(" ")[16],
        "0",
      );
    }
    // A short text (one column) stays in this thread.
    const short = await scoreShared(m.config, m.params, stream.subarray(0, 3), opts, [helper]);
    assert.equal(short.tokens, 2);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(helper.running(), false, "stopped after 300 ms without work");
    const again = await scoreShared(m.config, m.params, stream, opts, [helper]);
    assertClose(again.nll, one.nll, 1e-9, "a fresh worker after the idle stop");
  } finally {
    helper.close();
  }
});

Deno.test("a score helper's share follows the measured speeds of both threads, within bounds", async () => {
  const { m } = await smallModelAndStream(1, 1);
  const helper = createScoreHelper(m.config, m.params);
  const start = helper.share();
  // The worker scored its columns twice as fast per column: it should get more next time.
  helper.observe({ columns: 6, ms: 600 }, { columns: 4, ms: 200 });
  assert.ok(helper.share() > start && helper.share() <= 0.5, `${helper.share()}`);
  for (let i = 0; i < 20; i++) helper.observe({ columns: 9, ms: 90 }, { columns: 1, ms: 1000 });
  assert.ok(Math.abs(helper.share() - 0.1) < 1e-9, `${helper.share()}`);
  helper.observe({ columns: 9, ms: 0 }, { columns: 1, ms: NaN }); // ignored
  assert.ok(Math.abs(helper.share() - 0.1) < 1e-9);
  assert.equal(helper.running(), false); // observing starts nothing
});

Deno.test("a two-thread score helper scores whole texts in its worker, to the one-thread score", async () => {
  const { m, stream } = await smallModelAndStream(2001, 4);
  const opts = { batch: 10, bptt: 64, perToken: true };
  const one = scoreStream(m.params, m.config, stream, opts);
  const helper = createScoreHelper(m.config, m.params, 300, 2);
  try {
    assert.equal(helper.share(), 1);
    const pooled = await scoreShared(m.config, m.params, stream, opts, [helper]);
    assert.equal(pooled.tokens, 2000);
    assertClose(pooled.nll, one.nll, 1e-9);
    assert.deepEqual(pooled.logprobs, one.logprobs);
    assert.ok(helper.running());
  } finally {
    helper.close();
  }
});

Deno.test("two score workers split the columns and give the one-thread score, every token's logprob", async () => {
  const { m, stream } = await smallModelAndStream(2003, 4);
  const opts = { batch: 10, bptt: 64, perToken: true };
  const one = scoreStream(m.params, m.config, stream, opts);
  const helpers = [0, 1].map(() => createScoreHelper(m.config, m.params, 10_000));
  try {
    const split = await scoreShared(m.config, m.params, stream, opts, helpers);
    assert.equal(split.tokens, 2002);
    assertClose(split.nll, one.nll, 1e-9);
    assert.deepEqual(split.logprobs, one.logprobs);
    assert.ok(helpers.every((h) => h.running()), "both workers took a part");
  } finally {
    helpers.forEach((h) => h.close());
  }
});

Deno.test("readInPieces() reads a tensor's values exactly, across piece boundaries, into its own array", async () => {
  const { m } = await smallModelAndStream(1, 1);
  for (const t of Object.values(m.params)) {
    for (const piece of [1, 7, t.size, t.size + 5]) {
      const values = (t.dataSync() as Float32Array).slice();
      const read = await readInPieces(t, piece);
      assert.deepEqual(read, values, `${t.shape} in pieces of ${piece}`);
      read.fill(7); // ours: the tensor keeps its values
      assert.deepEqual(t.dataSync(), values);
    }
  }
});
