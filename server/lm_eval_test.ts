/**
 * lm-evaluation-harness (0.4.x, `--model local-completions`) as it talks to the server: its
 * remote tokenizer (`GET /tokenizer_info`, `POST /tokenize` / `/detokenize` in vLLM's shape),
 * its request bodies for `loglikelihood` and `loglikelihood_rolling` (token-id prompts, `echo`,
 * `max_tokens` 1, `logprobs` 1), its rolling windows and context-length slicing, and how it
 * reads the answer (`sum(token_logprobs[ctxlen:-1])`). The sums must be `/v1/perplexity`'s.
 */
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { post, smallApp } from "./testing.ts";

const SEED = 1234;

/** lm_eval.utils.RemoteTokenizer, over the app. */
async function remoteTokenizer(app: Hono) {
  const info = await (await app.request("/tokenizer_info")).json();
  assert.ok("eos_token" in info, "lm-eval checks that /tokenizer_info names eos_token");
  const encode = async (text: string): Promise<number[]> => {
    const res = await app.request(post("/tokenize", { prompt: text, add_special_tokens: false }));
    assert.equal(res.status, 200);
    const { tokens } = await res.json();
    assert.ok(Array.isArray(tokens));
    return tokens;
  };
  const decode = async (tokens: number[]): Promise<string> =>
    (await (await app.request(post("/detokenize", { tokens }))).json()).prompt;
  const eos = (await encode(info.eos_token))[0]!;
  // prefix_token_id: bos_token_id or eos_token_id.
  const prefix = info.bos_token == null ? eos : (await encode(info.bos_token))[0]!;
  return { encode, decode, eos, prefix };
}

/** TemplateLM._encode_pair: trailing spaces of the context move to the continuation. */
async function encodePair(
  encode: (s: string) => Promise<number[]>,
  context: string,
  continuation: string,
): Promise<[number[], number[]]> {
  const n = context.length - context.trimEnd().length;
  if (n > 0) [context, continuation] = [context.slice(0, -n), context.slice(-n) + continuation];
  const whole = await encode(context + continuation);
  const ctx = await encode(context);
  return [ctx, whole.slice(ctx.length)];
}

/** utils.get_rolling_token_windows followed by utils.make_disjoint_window. */
function rollingWindows(tokens: number[], prefix: number, maxSeqLen: number, contextLen: number) {
  const out: [number[], number[]][] = [];
  if (tokens.length === 0) return out;
  const predLen = maxSeqLen - contextLen + 1;
  const first = Math.min(maxSeqLen, tokens.length);
  out.push([[prefix, ...tokens.slice(0, first - 1)], tokens.slice(0, first)]);
  let predicted = first;
  while (predicted < tokens.length) {
    const n = Math.min(tokens.length - predicted, predLen);
    const end = predicted + n;
    out.push([tokens.slice(Math.max(0, end - maxSeqLen - 1), end - 1), tokens.slice(end - n, end)]);
    predicted += n;
  }
  return out.map(([a, b]) => [a.slice(0, a.length - (b.length - 1)), b] as [number[], number[]]);
}

interface Choice {
  index: number;
  logprobs: { token_logprobs: (number | null)[]; top_logprobs: Record<string, number>[] };
}

/**
 * TemplateAPI._loglikelihood_tokens with batch_size = requests.length: left-truncation to
 * max_length - 1, ctxlen, LocalCompletionsAPI._create_payload and parse_logprobs.
 */
async function loglikelihoodTokens(
  app: Hono,
  requests: [number[], number[]][],
  maxLength: number,
  maxTokens = 1,
): Promise<[number, boolean][]> {
  const max = maxLength - 1;
  const inputs = requests.map(([c, k]) => [...c, ...k].slice(-max));
  const ctxlens = requests.map(([c, k]) => c.length - Math.max(0, c.length + k.length - max));
  const res = await app.request(post("/v1/completions", {
    model: "tiny",
    prompt: inputs,
    temperature: 0,
    max_tokens: maxTokens,
    logprobs: 1,
    seed: SEED,
    echo: true,
  }));
  assert.equal(res.status, 200, await res.clone().text());
  const out = await res.json();
  const choices = (out.choices as Choice[]).sort((a, b) => a.index - b.index);
  return choices.map((ch, i) => {
    const end = maxTokens === 1 ? -1 : undefined; // the one generated token is not the prompt's
    assert.equal(ch.logprobs.token_logprobs.length, inputs[i]!.length + maxTokens);
    const lps = ch.logprobs.token_logprobs.slice(ctxlens[i], end) as number[];
    const tops = ch.logprobs.top_logprobs.slice(ctxlens[i], end);
    const greedy = lps.every((lp, j) => lp === Math.max(...Object.values(tops[j]!)));
    return [lps.reduce((s, x) => s + x, 0), greedy];
  });
}

async function perplexityPerToken(app: Hono, text: string): Promise<number[]> {
  const r = await (await app.request(post("/v1/perplexity", { text, per_token: true }))).json();
  return r.per_token.map((t: { logprob: number }) => t.logprob);
}

const near = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));

Deno.test("lm-eval loglikelihood: token-id prompts, echo, max_tokens 1 and 0", async () => {
  const { app } = await smallApp();
  const tok = await remoteTokenizer(app);
  const context = "The company said it ";
  const continuations = ["is a w3 of the w4.", "said that", "is"];
  const pairs = await Promise.all(continuations.map((k) => encodePair(tok.encode, context, k)));
  // A request with an empty context reads its continuation after the prefix token.
  pairs.push([[tok.prefix], await tok.encode("The w1 of it.")]);
  for (const maxTokens of [1, 0]) {
    const got = await loglikelihoodTokens(app, pairs, 2048, maxTokens);
    for (const [i, [ctx, cont]] of pairs.entries()) {
      const text = await tok.decode([...ctx, ...cont]);
      const per = await perplexityPerToken(app, text);
      const start = ctx[0] === tok.eos ? ctx.length - 1 : ctx.length;
      const want = per.slice(start).reduce((s, x) => s + x, 0);
      assert.equal(per.length - start, cont.length);
      assert.ok(near(got[i]![0], want), `${text}: ${got[i]![0]} vs ${want}`);
    }
  }
});

Deno.test("lm-eval loglikelihood_rolling sums to /v1/perplexity's log-likelihood", async () => {
  const { app } = await smallApp();
  const tok = await remoteTokenizer(app);
  const doc = " the company said it is a w3 of the w4 \n it said that the w5 is N $ N to a w6 \n";
  const tokens = await tok.encode(doc);
  // One window (max_length 2048): the whole text after the prefix token, as /v1/perplexity.
  const one = rollingWindows(tokens, tok.prefix, 2048 - 1 - 1, 1);
  assert.equal(one.length, 1);
  const [[sum]] = await loglikelihoodTokens(app, one, 2048) as [[number, boolean]];
  const nll = (await (await app.request(post("/v1/perplexity", { text: doc }))).json()).nll;
  assert.ok(near(-sum, nll), `${-sum} vs ${nll}`);
  // Short windows (max_length 9): each continuation is scored after at most 7 tokens of
  // context, which is what /v1/perplexity gives for that window's text.
  const windows = rollingWindows(tokens, tok.prefix, 9 - 1 - 1, 1);
  assert.ok(windows.length > 3);
  assert.deepEqual(windows.flatMap(([, k]) => k), tokens);
  const scored = await Promise.all(windows.map((w) => loglikelihoodTokens(app, [w], 9)));
  for (const [i, [ctx, cont]] of windows.entries()) {
    const inp = [...ctx, ...cont].slice(-8);
    const per = await perplexityPerToken(app, await tok.decode(inp));
    const start = inp[0] === tok.eos ? inp.length - 1 - cont.length : inp.length - cont.length;
    const want = per.slice(start).reduce((s, x) => s + x, 0);
    assert.ok(near(scored[i]![0]![0], want), `window ${i}`);
  }
});
