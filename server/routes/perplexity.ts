/**
 * POST /v1/perplexity: how well a model predicts a text, every word and `<eos>` scored, each
 * after `<eos>` and the text before it (a leading `<eos>` is that context, not scored).
 */
import type { Context } from "hono";
import { z } from "zod";
import { encode, EOS } from "../../shared/vocab.ts";
import { readingOptions } from "../../shared/eval_protocol.ts";
import { type Deps, overLimit, pickModel } from "../deps.ts";
import { parseBody, readJson } from "../errors.ts";
import { inc, labels } from "../metrics.ts";
import type { ServedModel } from "../models.ts";
import { scoreShared } from "../score_helper.ts";
import { tokenizeText } from "../tokenize_off.ts";
import { slotsFor } from "../work_slots.ts";

export const PerplexitySchema = z.object({
  text: z.string().optional(),
  texts: z.array(z.string()).min(1).max(1000).optional(),
  model: z.string().optional(),
  per_token: z.boolean().default(false),
  /** Each line is one sentence (PTB files); otherwise sentences end at . ? ! */
  lines: z.boolean().default(false),
}).strict().refine((b) => (b.text === undefined) !== (b.texts === undefined), {
  message: 'Give exactly one of "text" and "texts"',
  path: ["text"],
});

interface Scored {
  perplexity: number;
  nll: number;
  tokens: number;
  oov_tokens: number;
  per_token?: { token: string; logprob: number }[];
}

/**
 * Short texts run as one sequence; long ones as 10 side-by-side columns (the usual PTB
 * evaluation layout), which makes the output projection one product over many positions.
 */
export async function scoreTokens(
  model: ServedModel,
  tokens: string[],
  perToken: boolean,
  signal?: AbortSignal,
): Promise<Scored> {
  // Every text is read after `<eos>`; a text that starts with one already has that context.
  if (tokens[0] === EOS) tokens = tokens.slice(1);
  const { ids, oov } = encode(model.vocab, tokens);
  const stream = new Int32Array(ids.length + 1);
  stream[0] = model.vocab.eos;
  stream.set(ids, 1);
  const opts = {
    batch: ids.length >= 5000 ? 10 : 1,
    bptt: 35,
    perToken,
    ...readingOptions(model.stateResetEvery),
  };
  const s = await scoreShared(model.config, model.params, stream, opts, model.scorers, signal);
  return {
    perplexity: s.tokens > 0 ? s.perplexity : 0,
    nll: s.nll,
    tokens: s.tokens,
    oov_tokens: oov,
    ...(perToken
      ? { per_token: tokens.map((token, i) => ({ token, logprob: s.logprobs![i]! })) }
      : {}),
  };
}

export function perplexityHandler(deps: Deps) {
  return async function perplexityRoute(c: Context): Promise<Response> {
    const body = parseBody(PerplexitySchema, await readJson(c));
    const model = pickModel(deps, body.model);
    const chars = (body.texts ?? [body.text!]).reduce((n, t) => n + t.length, 0);
    return await deps.work.run(() => score(c, deps, model, body), slotsFor(chars));
  };
}

async function score(
  c: Context,
  deps: Deps,
  model: ServedModel,
  body: z.infer<typeof PerplexitySchema>,
): Promise<Response> {
  const texts = body.texts ?? [body.text!];
  const tokenized: string[][] = [];
  let count = 0;
  for (const t of texts) {
    tokenized.push(await tokenizeText(model.vocab, t, body.lines));
    count += tokenized.at(-1)!.length;
    if (count > deps.limits.maxScoreTokens) break;
  }
  if (count > deps.limits.maxScoreTokens) {
    const [what, param] = body.text === undefined ? ["Texts have", "texts"] : ["Text has", "text"];
    throw overLimit(what, count, "maxScoreTokens", deps.limits, param);
  }
  const results: Scored[] = [];
  for (const t of tokenized) {
    results.push(await scoreTokens(model, t, body.per_token, c.req.raw.signal));
  }
  inc(deps.metrics.tokensScored, labels({ model: model.name }), count);
  if (body.text !== undefined) return c.json({ model: model.name, ...results[0]! });
  const nll = results.reduce((n, r) => n + r.nll, 0);
  const tokens = results.reduce((n, r) => n + r.tokens, 0);
  return c.json({
    model: model.name,
    perplexity: tokens > 0 ? Math.exp(nll / tokens) : 0,
    nll,
    tokens,
    oov_tokens: results.reduce((n, r) => n + r.oov_tokens, 0),
    results,
  });
}
