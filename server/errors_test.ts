import assert from "node:assert/strict";
import type { Context } from "hono";
import { ApiError, BIG_BODY_CHARS, readJson } from "./errors.ts";

const request = (body: string) => ({ req: { text: () => Promise.resolve(body) } }) as Context;

Deno.test("big bodies arriving together are parsed one per event-loop turn, timers between", async () => {
  const body = JSON.stringify({ prompt: "a b . ".repeat(BIG_BODY_CHARS / 3) });
  const events: string[] = [];
  let ticking = true;
  const tick = () => {
    events.push("tick");
    if (ticking) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  await Promise.all(
    Array.from(
      { length: 8 },
      (_, i) => readJson(request(body)).then(() => events.push(`body ${i}`)),
    ),
  );
  ticking = false;
  await new Promise((r) => setTimeout(r, 5));
  const bodies = events.flatMap((e, i) => (e.startsWith("body") ? [i] : []));
  assert.equal(bodies.length, 8);
  // Another task (here a timer; in the server, a /health request) ran between every two parses.
  for (let k = 1; k < bodies.length; k++) {
    const between = events.slice(bodies[k - 1]! + 1, bodies[k]);
    assert.ok(between.includes("tick"), `nothing ran between bodies ${k - 1} and ${k}`);
  }
});

Deno.test("a big body that is not JSON is a 400 and does not block the ones after it", async () => {
  const bad = "{" + " ".repeat(BIG_BODY_CHARS) + "x";
  const good = JSON.stringify({ text: "x".repeat(BIG_BODY_CHARS) });
  const [a, b] = await Promise.allSettled([readJson(request(bad)), readJson(request(good))]);
  assert.equal(a.status, "rejected");
  assert.equal(((a as PromiseRejectedResult).reason as ApiError).status, 400);
  assert.equal(b.status, "fulfilled");
  await assert.rejects(readJson(request("[".repeat(40) + "]".repeat(40))), /levels deep/);
});
