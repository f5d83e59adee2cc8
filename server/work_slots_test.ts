import assert from "node:assert/strict";
import { post, smallApp } from "./testing.ts";
import { createWorkSlots, slotsFor, WORK_SLOT_CHARS } from "./work_slots.ts";
import { inBlocks } from "./yield.ts";

Deno.test("work slots: past the limit a 429 with Retry-After, and a failed job frees its slot", async () => {
  const slots = createWorkSlots(1);
  let release!: () => void;
  const first = slots.run(() => new Promise<void>((r) => release = r));
  await assert.rejects(slots.run(() => Promise.resolve()), (e: Error & { status?: number }) => {
    assert.equal(e.status, 429);
    assert.match(e.message, /take 1 of its 1 work slots \(MAX_PENDING_WORK\); this one needs 1/);
    return true;
  });
  release();
  await first;
  await assert.rejects(slots.run(() => Promise.reject(new Error("failed"))));
  assert.equal(slots.inUse(), 0);
  assert.equal(await slots.run(() => Promise.resolve(7)), 7);
});

Deno.test("a flood of scoring requests past MAX_PENDING_WORK is refused, not queued", async () => {
  const { app } = await smallApp(undefined, { limits: { maxPendingWork: 2 } });
  const text = "the company said it would buy a stake . ".repeat(300);
  const flood = await Promise.all(
    Array.from({ length: 12 }, () => app.request(post("/v1/perplexity", { text }))),
  );
  const statuses = flood.map((r) => r.status);
  assert.ok(statuses.every((s) => s === 200 || s === 429), String(statuses));
  assert.ok(statuses.filter((s) => s === 200).length >= 2, String(statuses));
  assert.ok(statuses.includes(429), String(statuses));
  for (const r of flood.filter((r) => r.status === 429)) {
    assert.equal(r.headers.get("retry-after"), "1");
    assert.equal((await r.json()).error.type, "rate_limit_error");
  }
  // Every slot was given back: the same request is served again, and echo takes slots too.
  const again = await app.request(post("/v1/perplexity", { text }));
  assert.equal(again.status, 200);
  const echo = await app.request(
    post("/v1/completions", { prompt: "the company", max_tokens: 0, echo: true, logprobs: 1 }),
  );
  assert.equal(echo.status, 200);
});

Deno.test("an echo with several prompts and n takes one work slot; its choices' logprobs are their own", async () => {
  const { app } = await smallApp(undefined, { limits: { maxPendingWork: 1 } });
  const res = await app.request(post("/v1/completions", {
    prompt: ["the company said", "it would buy"],
    n: 2,
    max_tokens: 3,
    echo: true,
    logprobs: 1,
    stream: false,
  }));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.choices.length, 4);
  for (const ch of body.choices) {
    // The prompt's 3 tokens, then this choice's own 3 generated ones (not its sibling's too).
    assert.equal(ch.logprobs.tokens.length, 6, JSON.stringify(ch.logprobs.tokens));
  }
  assert.deepEqual(
    body.choices[0].logprobs.token_logprobs.slice(0, 3),
    body.choices[1].logprobs.token_logprobs.slice(0, 3),
  );
});

Deno.test("a scoring request whose client leaves while it waits is dropped: 499, nothing scored", async () => {
  const { app } = await smallApp();
  let release!: () => void;
  const blocker = inBlocks(() => new Promise<void>((r) => release = r));
  const ac = new AbortController();
  const req = new Request(post("/v1/perplexity", { text: "the company said it would buy" }), {
    signal: ac.signal,
  });
  const pending = app.request(req);
  await new Promise((r) => setTimeout(r, 50)); // it reaches the queue behind the blocker
  ac.abort();
  release(); // the blocker started long ago: 50 ms of timer turns
  await blocker;
  assert.equal((await pending).status, 499);
  const metrics = await (await app.request("/metrics")).text();
  assert.doesNotMatch(metrics, /rotor_tokens_scored_total\{[^}]*\} [1-9]/);
  const again = await app.request(post("/v1/perplexity", { text: "the company said" }));
  assert.equal(again.status, 200);
});

Deno.test("work slots: a long text takes one slot per started 64 KB, at most all of them", async () => {
  assert.equal(slotsFor(0), 1);
  assert.equal(slotsFor(WORK_SLOT_CHARS - 1), 1);
  assert.equal(slotsFor(WORK_SLOT_CHARS), 2);
  assert.equal(slotsFor(990_000), 16);
  const slots = createWorkSlots(16);
  let release!: () => void;
  const big = slots.run(() => new Promise<void>((r) => release = r), slotsFor(990_000));
  assert.equal(slots.inUse(), 16);
  await assert.rejects(slots.run(() => Promise.resolve(), 1), /this one needs 1/);
  release();
  await big;
  // Heavier than every slot: runs alone.
  assert.equal(await slots.run(() => Promise.resolve(3), 40), 3);
  assert.equal(slots.inUse(), 0);
});
