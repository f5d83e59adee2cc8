import assert from "node:assert/strict";
import { DEFAULT_LIMITS, LIMIT_ENV, readLimitsEnv } from "./limits.ts";
import { post, smallApp } from "./testing.ts";
import { CONNECTION_ENV, defaultConnectionLimits } from "./connections.ts";

Deno.test("readLimitsEnv() reads each limit's variable and refuses a bad value", () => {
  assert.deepEqual(readLimitsEnv({}), DEFAULT_LIMITS);
  const l = readLimitsEnv({ MAX_PROMPT_TOKENS: "100", MAX_DETOKENIZE_IDS: "7", PORT: "x" });
  assert.equal(l.maxPromptTokens, 100);
  assert.equal(l.maxDetokenizeIds, 7);
  assert.equal(l.maxScoreTokens, DEFAULT_LIMITS.maxScoreTokens);
  for (const bad of ["0", "-3", "1.5", "lots"]) {
    assert.throws(
      () => readLimitsEnv({ MAX_SCORE_TOKENS: bad }),
      new RegExp(`MAX_SCORE_TOKENS must be a positive integer, got "${bad}"`),
    );
  }
});

const status = async (res: Response) => ({ status: res.status, ...(await res.json()) });

Deno.test("a prompt over MAX_PROMPT_TOKENS is refused with 413 before any work", async () => {
  const { app } = await smallApp(undefined, { limits: { maxPromptTokens: 50 } });
  const long = "the ".repeat(51); // 51 tokens: no sentence end, so no <eos>
  const cases: [string, unknown, string][] = [
    ["/v1/generate", { prompt: long }, "prompt"],
    ["/v1/completions", { prompt: long, max_tokens: 0, echo: true, logprobs: 5 }, "prompt"],
    ["/v1/completions", { prompt: ["the", long], max_tokens: 1 }, "prompt.1"],
  ];
  for (const [path, body, param] of cases) {
    const r = await status(await app.request(post(path, body)));
    assert.equal(r.status, 413, path);
    assert.deepEqual(r.error, {
      message: "Prompt has 51 tokens, more than the limit of 50 (MAX_PROMPT_TOKENS)",
      type: "request_too_large",
      param,
    });
  }
  const ok = await app.request(post("/v1/generate", { prompt: "the ".repeat(50), stream: false }));
  assert.equal(ok.status, 200);
});

Deno.test("the long echo request that used to poison the server is refused at once", async () => {
  // 60,000 tokens of echo + logprobs once ran for a minute and overflowed the wasm heap.
  const { app } = await smallApp();
  const res = await app.request(post("/v1/completions", {
    prompt: "the ".repeat(60_000),
    max_tokens: 0,
    echo: true,
    logprobs: 5,
  }));
  const r = await status(res);
  assert.equal(r.status, 413);
  assert.match(r.error.message, /^Prompt has 60000 tokens, more than the limit of 4096/);
});

Deno.test("after the longest admitted echo, generation and scoring give the same results", async () => {
  const { app } = await smallApp(undefined, { limits: { maxPromptTokens: 3000 } });
  const gen = { prompt: "the company said", max_tokens: 20, seed: 9, stream: false };
  const score = { text: "it said the $ N in a year . the company", per_token: true };
  const before = [
    await (await app.request(post("/v1/generate", gen))).json(),
    await (await app.request(post("/v1/perplexity", score))).json(),
  ];
  const echo = await app.request(post("/v1/completions", {
    prompt: "the said of to a in ".repeat(500), // 3,000 tokens
    max_tokens: 0,
    echo: true,
    logprobs: 5,
  }));
  assert.equal(echo.status, 200);
  const lp = (await echo.json()).choices[0].logprobs;
  assert.equal(lp.token_logprobs.length, 3000);
  assert.ok(lp.token_logprobs.slice(1).every((x: number) => Number.isFinite(x) && x < 0));
  const after = [
    await (await app.request(post("/v1/generate", gen))).json(),
    await (await app.request(post("/v1/perplexity", score))).json(),
  ];
  const { timings: _a, ...g0 } = before[0];
  const { timings: _b, ...g1 } = after[0];
  assert.deepEqual(g1, g0);
  assert.deepEqual(after[1], before[1]);
});

Deno.test("an echo-only request (max_tokens 0) is admitted like any other", async () => {
  const { app } = await smallApp({ maxActive: 1, maxQueue: 0 });
  const ac = new AbortController();
  const busy = await app.request(
    new Request("http://localhost/v1/generate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ max_tokens: 2048 }),
      signal: ac.signal,
    }),
  );
  const reader = busy.body!.getReader();
  await reader.read(); // the stream holds the only place
  const r = await app.request(
    post("/v1/completions", { prompt: "the", max_tokens: 0, echo: true }),
  );
  assert.equal(r.status, 429);
  assert.equal(r.headers.get("retry-after"), "1");
  ac.abort();
  await reader.cancel();
});

Deno.test("scoring and detokenizing refuse lists over their limits with 413", async () => {
  const { app } = await smallApp(undefined, {
    limits: { maxScoreTokens: 20, maxDetokenizeIds: 10 },
  });
  let r = await status(
    await app.request(post("/v1/perplexity", { texts: ["the the the the the the the"] })),
  );
  assert.equal(r.status, 200);
  r = await status(
    await app.request(post("/v1/perplexity", { texts: Array(3).fill("a ".repeat(7)) })),
  );
  assert.equal(r.status, 413);
  assert.deepEqual(r.error, {
    message: "Texts have 21 tokens, more than the limit of 20 (MAX_SCORE_TOKENS)",
    type: "request_too_large",
    param: "texts",
  });
  r = await status(await app.request(post("/detokenize", { ids: Array(11).fill(2) })));
  assert.equal(r.status, 413);
  assert.equal(
    r.error.message,
    "The list has 11 ids, more than the limit of 10 (MAX_DETOKENIZE_IDS)",
  );
  r = await status(await app.request(post("/detokenize", { tokens: Array(10).fill("the") })));
  assert.equal(r.status, 200);
});

Deno.test("server/README.md lists every limit's variable with its default", async () => {
  const readme = await Deno.readTextFile(new URL("./README.md", import.meta.url));
  for (const [key, name] of Object.entries(LIMIT_ENV) as [keyof typeof LIMIT_ENV, string][]) {
    const row = readme.split("\n").find((l) => l.startsWith(`| \`${name}\``));
    assert.ok(row, `${name} is not in the README's table`);
    assert.match(row, new RegExp(`\\| \`${DEFAULT_LIMITS[key]}\` +\\|`), `${name}'s default`);
  }
});

Deno.test("server/README.md lists every connection and browser setting", async () => {
  const readme = await Deno.readTextFile(new URL("./README.md", import.meta.url));
  const rows = readme.split("\n").filter((l) => l.startsWith("| `"));
  for (const name of [...Object.values(CONNECTION_ENV), "ALLOWED_HOSTS", "CORS_ORIGINS"]) {
    assert.ok(rows.some((r) => r.startsWith(`| \`${name}\``)), `${name} is not in the table`);
  }
  const idle = rows.find((r) => r.startsWith("| `IDLE_TIMEOUT_MS`"))!;
  assert.match(idle, new RegExp(`\\| \`${defaultConnectionLimits().idleTimeoutMs}\` +\\|`));
});
