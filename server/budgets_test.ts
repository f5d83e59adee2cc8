/**
 * Every route against server/README.md's table of routes × budgets: the table names each route
 * the app has, and every route that takes text tokenizes it in a work slot, so with no slot
 * free it answers 429 with Retry-After before any work.
 */
import assert from "node:assert/strict";
import { post, smallApp } from "./testing.ts";

/** The rows of README's "Budgets by route" table: route → its budgets cell. */
async function readmeRoutes(): Promise<Map<string, string>> {
  const readme = await Deno.readTextFile(new URL("./README.md", import.meta.url));
  const section = readme.split("### Budgets by route")[1]?.split("\n\n## ")[0] ?? "";
  const out = new Map<string, string>();
  for (const m of section.matchAll(/^\| `((?:GET|POST) [^`]+)`\s*\|(.*)\|\s*$/gm)) {
    out.set(m[1]!, m[2]!);
  }
  return out;
}

/** One request per route that takes text, in each of its text forms. */
const TEXT_REQUESTS: [string, unknown][] = [
  ["/v1/generate", { prompt: "the company", max_tokens: 2 }],
  ["/v1/completions", { prompt: "the company", max_tokens: 2 }],
  ["/v1/completions", { prompt: ["the", "company"], max_tokens: 1 }],
  ["/v1/perplexity", { text: "the company" }],
  ["/v1/perplexity", { texts: ["the company"] }],
  ["/tokenize", { text: "the company" }],
  ["/tokenize", { prompt: "the company" }],
];

Deno.test("server/README.md's budget table names every route the app serves", async () => {
  const { app } = await smallApp();
  const served = new Set(
    app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`),
  );
  const table = await readmeRoutes();
  // Hono spells the tokenizer files' route as a pattern; README as the two files.
  const spelled = (route: string) =>
    route.includes(":file{") ? "GET /v1/models/:id/tokenizer.json" : route;
  for (const route of served) {
    assert.ok(table.has(spelled(route)), `${route} is not in README's budget table`);
  }
  for (const route of table.keys()) {
    const known = [...served].some((s) => spelled(s) === route) ||
      route === "GET /v1/models/:id/tokenizer_config.json";
    assert.ok(known, `README's budget table lists ${route}, which the app does not serve`);
  }
});

Deno.test("every route that takes text answers 429 with Retry-After when no work slot is free", async () => {
  const { app } = await smallApp(undefined, { limits: { maxPendingWork: 0 } });
  for (const [path, body] of TEXT_REQUESTS) {
    const res = await app.request(post(path, body));
    assert.equal(res.status, 429, `${path} ${JSON.stringify(body)}`);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.match((await res.json()).error.message, /MAX_PENDING_WORK/);
  }
  const table = await readmeRoutes();
  for (const path of new Set(TEXT_REQUESTS.map(([p]) => p))) {
    assert.match(table.get(`POST ${path}`)!, /MAX_PENDING_WORK/, `README's row for ${path}`);
  }
  // Token ids are no text: they are counted, not tokenized.
  const ids = await app.request(post("/v1/completions", { prompt: [1, 2], max_tokens: 1 }));
  assert.equal(ids.status, 200);
  assert.equal((await app.request(post("/detokenize", { ids: [1, 2] }))).status, 200);
});

Deno.test("every route that takes text answers when a slot is free", async () => {
  const { app } = await smallApp(undefined, { limits: { maxPendingWork: 1 } });
  for (const [path, body] of TEXT_REQUESTS) {
    const whole = path === "/v1/generate" ? { ...(body as object), stream: false } : body;
    const res = await app.request(post(path, whole));
    assert.equal(res.status, 200, `${path} ${JSON.stringify(body)}`);
    await res.body?.cancel();
  }
});

Deno.test("MAX_TOKENS bounds the number of tokens generated when a request gives none", async () => {
  const { app } = await smallApp(undefined, { limits: { maxTokens: 5 } });
  const gen = await app.request(post("/v1/generate", { prompt: "the", stream: false, seed: 1 }));
  assert.equal((await gen.json()).generated_tokens, 5);
  const cmp = await app.request(post("/v1/completions", { prompt: "the", seed: 1 }));
  assert.equal((await cmp.json()).usage.completion_tokens, 5);
});
