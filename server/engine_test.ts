import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import { forwardLogits, zeroState } from "../shared/model.ts";
import {
  type Engine,
  EngineBusyError,
  type Job,
  PREFILL_TOKENS,
  type SampledToken,
} from "./engine.ts";
import { ApiError } from "./errors.ts";
import { smallServedModel } from "./testing.ts";

function job(seed: number, n: number, out: number[], extra: Partial<Job> = {}): Job {
  return {
    context: Int32Array.from([1, 2, 3]),
    sampling: { temperature: 1 },
    seed,
    onToken: (t) => {
      out.push(t.id);
      return out.length < n;
    },
    ...extra,
  };
}

async function run(engine: Engine, seeds: number[], n: number): Promise<number[][]> {
  const outs = seeds.map(() => [] as number[]);
  await Promise.all(seeds.map((s, i) => engine.submit(job(s, n, outs[i]!))));
  return outs;
}

Deno.test("createEngine() samples the same tokens for a seed alone or batched", async () => {
  const m = await smallServedModel({ maxActive: 8, maxQueue: 8 });
  const alone = (await run(m.engine, [11], 30))[0]!;
  const batched = await run(m.engine, [5, 11, 6, 7], 30);
  assert.deepEqual(batched[1], alone);
  assert.notDeepEqual(batched[0], alone);
  // A late joiner with the same seed still gets the same text.
  const first: number[] = [], late: number[] = [];
  const a = m.engine.submit(job(5, 40, first));
  await new Promise((r) => setTimeout(r, 5));
  const b = m.engine.submit(job(11, 30, late));
  await Promise.all([a, b]);
  assert.deepEqual(late, alone);
  // Batched with streams at other temperatures (the batch then also reads raw logits): the same.
  const mixed = [[] as number[], [] as number[], [] as number[]];
  await Promise.all([
    m.engine.submit(job(5, 30, mixed[0]!, { sampling: { temperature: 0.5 } })),
    m.engine.submit(job(11, 30, mixed[1]!)),
    m.engine.submit(job(6, 30, mixed[2]!, { sampling: { temperature: 0 } })),
  ]);
  assert.deepEqual(mixed[1], alone);
});

Deno.test("createEngine() frees every tensor after finished, aborted and failed jobs", async () => {
  const m = await smallServedModel({ maxActive: 2, maxQueue: 8 });
  await run(m.engine, [1], 2); // warm up: kernels may allocate once
  const idle = tf.memory().numTensors;
  const abort = new AbortController();
  const outs: number[][] = [[], [], [], [], []];
  const ends = [
    m.engine.submit(job(1, 5, outs[0]!)),
    m.engine.submit(job(2, 1000, outs[1]!, { signal: abort.signal })),
    m.engine.submit({
      ...job(3, 1000, outs[2]!),
      onToken: () => {
        throw new Error("Consumer failed");
      },
    }),
    m.engine.submit(job(4, 50, outs[3]!)),
    m.engine.submit(job(5, 3, outs[4]!, { context: Int32Array.from([1]) })),
  ];
  setTimeout(() => abort.abort(), 5);
  const settled = await Promise.allSettled(ends);
  assert.deepEqual(settled.map((s) => s.status === "fulfilled" ? s.value : "rejected"), [
    "finished",
    "aborted",
    "rejected",
    "finished",
    "finished",
  ]);
  assert.equal(tf.memory().numTensors, idle);
  assert.deepEqual(m.engine.stats(), { active: 0, queued: 0 });
});

Deno.test("createEngine() refuses jobs past the batch and queue", async () => {
  const m = await smallServedModel({ maxActive: 1, maxQueue: 1 });
  const abort = new AbortController();
  const a = m.engine.submit(job(1, 1e6, [], { signal: abort.signal }));
  const b = m.engine.submit(job(2, 1e6, [], { signal: abort.signal }));
  assert.equal(m.engine.canAccept(1), false);
  assert.throws(() => m.engine.submit(job(3, 1, [])), EngineBusyError);
  abort.abort();
  assert.deepEqual(await Promise.all([a, b]), ["aborted", "aborted"]);
});

Deno.test("EngineBusyError is the one capacity answer: a 429 with Retry-After", () => {
  const e = new EngineBusyError(2);
  assert.ok(e instanceof ApiError);
  assert.deepEqual([e.status, e.type, e.headers], [429, "rate_limit_error", {
    "retry-after": "2",
  }]);
});

Deno.test("createEngine() reports each token's log-probability at temperature 1, whatever the sampling temperature", async () => {
  const m = await smallServedModel({ maxActive: 8, maxQueue: 8 });
  const { params, config: cfg } = m;
  // Expected: log-softmax of the logits after reading the context and every drawn token.
  const expected = (ids: number[]) =>
    tf.tidy(() => {
      const x = tf.tensor2d(Int32Array.from([1, 2, 3, ...ids]), [1, 3 + ids.length], "int32");
      const { logits } = forwardLogits(params, cfg, x, zeroState(cfg, 1));
      const lp = tf.logSoftmax(logits).arraySync() as number[][];
      return ids.map((id, t) => lp[t + 2]![id]!);
    });
  for (const sampling of [{ temperature: 1 }, { temperature: 0.3, topK: 5 }, { temperature: 0 }]) {
    const got: SampledToken[] = [];
    await m.engine.submit({
      ...job(3, 0, []),
      sampling,
      topLogprobs: 2,
      onToken: (t) => (got.push(t), got.length < 12),
    });
    const want = expected(got.map((t) => t.id));
    got.forEach((t, i) => {
      assert.ok(Math.abs(t.logprob - want[i]!) < 1e-4, `${JSON.stringify(sampling)} ${i}`);
      assert.ok(t.top![0]![1] >= t.top![1]![1] && t.top![0]![1] >= t.logprob - 1e-6);
    });
    if (sampling.temperature === 0) assert.ok(got.every((t) => t.top![0]![0] === t.id));
  }
});

Deno.test("createEngine() reads a long prompt in chunks while the batch keeps stepping", async () => {
  const m = await smallServedModel({ maxActive: 8, maxQueue: 8 });
  const n = 6 * PREFILL_TOKENS;
  const context = Int32Array.from({ length: n + 1 }, (_, i) => 2 + (i * 5) % 30);
  // The first token's log-probability equals one pass over the whole prompt.
  const state = zeroState(m.config, 1);
  const t = tf.tidy(() =>
    tf.logSoftmax(
      forwardLogits(m.params, m.config, tf.tensor2d(context, [1, n + 1], "int32"), state).logits,
    )
  );
  const lp = (t.dataSync() as Float32Array).subarray(n * m.config.vocabSize);
  t.dispose();
  state.forEach((s) => s.h.dispose());
  let busyTokens = 0, longFirst = -1;
  let first: SampledToken | undefined;
  const busy = m.engine.submit(job(1, 1000, [], {
    onToken: () => (busyTokens++, longFirst < 0),
  }));
  await new Promise((r) => setTimeout(r, 5));
  const before = busyTokens;
  await m.engine.submit(job(2, 1, [], {
    context,
    onToken: (tok) => {
      first = tok;
      longFirst = busyTokens;
      return false;
    },
  }));
  await busy;
  // One tick per chunk: the busy stream got a token between the chunks.
  assert.ok(longFirst - before >= 5, `${longFirst - before} tokens while the prompt was read`);
  assert.ok(Math.abs(first!.logprob - lp[first!.id]!) < 1e-4);
});

Deno.test("createEngine() alternatives leave out the ids sampling excludes (<unk>)", async () => {
  const m = await smallServedModel({ maxActive: 8, maxQueue: 8 });
  const v = m.config.vocabSize, unk = m.vocab.unk;
  for (const temperature of [1, 0.5]) {
    const got: SampledToken[] = [];
    await m.engine.submit({
      ...job(3, 0, []),
      sampling: { temperature, exclude: [unk] },
      topLogprobs: v - 1,
      onToken: (t) => (got.push(t), got.length < 20),
    });
    for (const t of got) {
      assert.equal(t.top!.length, v - 1);
      assert.ok(t.top!.every(([id]) => id !== unk), `temperature ${temperature}`);
    }
  }
});

Deno.test("createEngine() with asyncReads draws the same tokens, log-probabilities and alternatives as with dataSync", async () => {
  const sync = await smallServedModel({ maxActive: 8, maxQueue: 8, asyncReads: false });
  const async = await smallServedModel({ maxActive: 8, maxQueue: 8, asyncReads: true });
  const samplings = [
    { temperature: 1 },
    { temperature: 0.7, topK: 5 },
    { temperature: 0 },
    { temperature: 1.3, topP: 0.9, exclude: [0] },
  ];
  const runAll = async (m: typeof sync) => {
    const outs = samplings.map(() => [] as SampledToken[]);
    // All four in one batch: rows at T = 1 and at other temperatures side by side.
    await Promise.all(samplings.map((sampling, i) =>
      m.engine.submit({
        ...job(20 + i, 0, []),
        sampling,
        topLogprobs: 3,
        onToken: (t) => (outs[i]!.push(t), outs[i]!.length < 15),
      })
    ));
    return outs;
  };
  const want = await runAll(sync);
  const idle = tf.memory().numTensors;
  const got = await runAll(async);
  assert.deepEqual(got, want);
  assert.ok(want.every((o) => o.length === 15));
  assert.equal(tf.memory().numTensors, idle);
});

Deno.test("createEngine() with asyncReads ends every stream on close() while a read is under way", async () => {
  const m = await smallServedModel({ maxActive: 2, maxQueue: 2, asyncReads: true });
  await run(m.engine, [1], 2);
  const idle = tf.memory().numTensors;
  let tokens = 0;
  const ending = m.engine.submit(job(1, 0, [], { onToken: () => (++tokens, true) }));
  while (tokens < 3) await new Promise((r) => setTimeout(r, 0));
  m.engine.close(new Error("Backend lost"));
  await assert.rejects(ending, /Backend lost/);
  const after = tokens;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(tokens, after, "no token after close()");
  // The step's logits are freed; the batch's state (h of the one layer) is left as close()
  // leaves it, untouched in a heap that may be corrupt.
  assert.equal(tf.memory().numTensors, idle + 1);
});
