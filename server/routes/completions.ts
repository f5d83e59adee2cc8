/**
 * POST /v1/completions, compatible with OpenAI's legacy completions API so its client
 * libraries and evaluation tools work. Tokens are the model's words; a token's text is the
 * piece it adds to the output (" word", "n't", "\n" for `<eos>`), so tokens join to `text`.
 */
import type { Context } from "hono";
import { z } from "zod";
import { type Deps, type Limits, pickModel } from "../deps.ts";
import { ApiError, parseBody, readJson } from "../errors.ts";
import { streamErrorBody } from "../health.ts";
import type { WorkSlots } from "../work_slots.ts";
import { generate, type GenerateParams, type TokenEvent } from "../generation.ts";
import type { ServedModel } from "../models.ts";
import { promptLogprobs } from "../prompt_logprobs.ts";
import { sseResponse } from "../sse.ts";
import { type Context as PromptContext, piece, pieces, type Prompt } from "../text.ts";
import { EOS } from "../../shared/vocab.ts";
import { parsePrompts } from "./prompt_forms.ts";
import { admit, freshSeed, Seed, Stop } from "./sampling.ts";
import { budgetedPrompt, tokenMeter } from "./generate.ts";

export function completionsSchema(limits: Limits) {
  return z.object({
    model: z.string().optional(),
    // Checked by parsePrompts, which names the accepted forms.
    prompt: z.unknown().optional(),
    // MAX_TOKENS bounds the default as well as what a request asks.
    max_tokens: z.number().int().min(0).max(limits.maxTokens).nullish().transform((x) =>
      x ?? Math.min(16, limits.maxTokens)
    ),
    temperature: z.number().min(0).max(2).nullish().transform((x) => x ?? 1),
    top_p: z.number().gt(0).max(1).nullish().transform((x) => x ?? 1),
    n: z.number().int().min(1).max(limits.maxChoices).nullish().transform((x) => x ?? 1),
    stream: z.boolean().nullish().transform((x) => x ?? false),
    logprobs: z.number().int().min(0).max(5).nullish(),
    echo: z.boolean().nullish().transform((x) => x ?? false),
    stop: Stop,
    seed: Seed,
    // Accepted for compatibility; a word model has no use for them.
    suffix: z.string().nullish(),
    user: z.string().nullish(),
    presence_penalty: z.number().nullish(),
    frequency_penalty: z.number().nullish(),
    best_of: z.number().int().nullish(),
    logit_bias: z.record(z.string(), z.number()).nullish(),
  });
}

interface Logprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

const emptyLogprobs = (): Logprobs => ({
  tokens: [],
  token_logprobs: [],
  top_logprobs: [],
  text_offset: [],
});

function topObject(top: [string, number][] | undefined): Record<string, number> {
  const o: Record<string, number> = {};
  for (const [t, lp] of top ?? []) if (!(t in o)) o[t] = lp;
  return o;
}

/** Where each token's piece starts in the prompt as sent (its space before it, as OpenAI
 * counts); a token the tokenizer rewrote (a number read as `N`) is placed where the search
 * stands. */
function tokenOffsets(prompt: string, tokens: readonly string[], ps: readonly string[]): number[] {
  const lower = prompt.toLowerCase();
  let at = 0;
  return tokens.map((t, k) => {
    const word = t === EOS ? "\n" : t;
    const i = lower.indexOf(word, at);
    if (i < 0) return at;
    const start = Math.max(at, i - (ps[k]!.length - word.length));
    at = i + word.length;
    return start;
  });
}

/**
 * Every choice's echo, by index. Scored ones take one work slot for the whole request, however
 * many choices it has, and a prompt's `n` choices share one scoring.
 */
function echoAll(
  work: WorkSlots,
  model: ServedModel,
  choices: { prompt: Prompt; context: PromptContext }[],
  k: number | null | undefined,
  signal: AbortSignal,
) {
  const all = async () => {
    const byContext = new Map<PromptContext, Awaited<ReturnType<typeof echoPrompt>>>();
    const out = [];
    for (const ch of choices) {
      const seen = byContext.get(ch.context);
      // A copy: each choice appends its own generated tokens to its logprobs.
      if (seen) out.push(structuredClone(seen));
      else {
        const e = await echoPrompt(model, ch.prompt, ch.context, k, signal);
        byContext.set(ch.context, structuredClone(e));
        out.push(e);
      }
    }
    return out;
  };
  return k == null ? all() : work.run(all);
}

/**
 * The echoed prompt: a text prompt exactly as sent, token ids as their pieces; with `k`, the
 * log-probability of each of the prompt's tokens. The model reads a prompt after `<eos>`, so
 * every token is scored, except a leading `<eos>`: that one is the context itself (null).
 */
async function echoPrompt(
  model: ServedModel,
  prompt: Prompt,
  ctx: PromptContext,
  k: number | null | undefined,
  signal: AbortSignal,
) {
  const ps = pieces(ctx.tokens);
  const text = typeof prompt === "string" ? prompt : ps.join("");
  if (k == null) return { text, logprobs: null };
  const scored = await promptLogprobs(model, ctx.ids, k, signal);
  // ids = [<eos>, ...tokens] or, when the prompt starts with <eos>, tokens themselves.
  const shift = ctx.ids.length - ctx.tokens.length - 1;
  const offsets = typeof prompt === "string" ? tokenOffsets(prompt, ctx.tokens, ps) : undefined;
  const lp = emptyLogprobs();
  let offset = 0;
  ps.forEach((p, i) => {
    const j = i + shift;
    lp.tokens.push(p);
    lp.token_logprobs.push(j < 0 ? null : scored.logprobs[j]!);
    const lineStart = i === 0 || ctx.tokens[i - 1] === EOS;
    lp.top_logprobs.push(
      j < 0 ? null : topObject(
        scored.top[j]!.map(([id, x]) => [piece(model.vocab.words[id]!, lineStart), x]),
      ),
    );
    lp.text_offset.push(offsets?.[i] ?? offset);
    offset += p.length;
  });
  return { text, logprobs: lp };
}

const finish = (r: string) => (r === "length" ? "length" : "stop");

export function completionsHandler(deps: Deps) {
  const schema = completionsSchema(deps.limits);
  return async function completionsRoute(c: Context): Promise<Response> {
    const body = parseBody(schema, await readJson(c));
    const model = pickModel(deps, body.model);
    const prompts = parsePrompts(body.prompt, model.vocab.words.length);
    const total = prompts.length * body.n;
    if (total > deps.limits.maxChoices) {
      throw new ApiError(
        400,
        "invalid_request_error",
        `Prompts × n is ${total}, more than the limit of ${deps.limits.maxChoices}`,
        "n",
      );
    }
    // Every prompt's budget is checked before any of them is read.
    const contexts: PromptContext[] = [];
    for (const [i, p] of prompts.entries()) {
      const param = typeof body.prompt === "string" ? "prompt" : `prompt.${i}`;
      contexts.push(await budgetedPrompt(deps, model, p, param));
    }
    const id = `cmpl-${crypto.randomUUID().replaceAll("-", "")}`;
    const created = Math.floor(Date.now() / 1000);
    const baseSeed = body.seed ?? freshSeed();
    const choices = prompts.flatMap((prompt, i) =>
      Array.from({ length: body.n }, (_, j) => {
        const index = i * body.n + j;
        const context = contexts[i]!;
        const params: GenerateParams = {
          prompt,
          context,
          maxTokens: body.max_tokens,
          temperature: body.temperature,
          topP: body.top_p < 1 ? body.top_p : undefined,
          seed: (baseSeed + index) >>> 0,
          stop: body.stop,
          topLogprobs: body.logprobs ?? undefined,
        };
        return { index, prompt, context, params };
      })
    );
    // Echo-only requests (max_tokens 0) are admitted like any other: they read the prompt too.
    admit(model, total);
    // The echoes before any generation or stream starts, so a full server answers 429 at once.
    const echoes = body.echo
      ? await echoAll(deps.work, model, choices, body.logprobs, c.req.raw.signal)
      : undefined;
    const meter = tokenMeter(deps, model.name);

    const addToken = (lp: Logprobs, t: TokenEvent, offset: number) => {
      lp.tokens.push(t.piece);
      lp.token_logprobs.push(t.logprob);
      lp.top_logprobs.push(topObject(t.top));
      lp.text_offset.push(offset);
    };

    if (!body.stream) {
      let promptTokens = 0, completionTokens = 0;
      const out = await Promise.all(choices.map(async (ch) => {
        const echo = echoes?.[ch.index];
        const lp = echo?.logprobs ?? (body.logprobs != null ? emptyLogprobs() : null);
        let text = echo?.text ?? "";
        const start = text.length;
        const r = await generate(model, model.engine, ch.params, (ev) => {
          meter(ev);
          if (ev.type !== "token") return;
          if (lp) addToken(lp, ev.data, start + (text.length - start));
          text += ev.data.piece;
        }, c.req.raw.signal);
        promptTokens += r.promptTokens;
        completionTokens += r.done.generated_tokens;
        return {
          text: text.slice(0, start) + r.text,
          index: ch.index,
          logprobs: lp,
          finish_reason: finish(r.done.finish_reason),
        };
      }));
      return c.json({
        id,
        object: "text_completion",
        created,
        model: model.name,
        choices: out,
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        },
      });
    }

    return sseResponse(c.req.raw.signal, async (w) => {
      const chunk = (
        index: number,
        text: string,
        logprobs: Logprobs | null,
        reason: string | null,
      ) =>
        w.send(JSON.stringify({
          id,
          object: "text_completion",
          created,
          model: model.name,
          choices: [{ text, index, logprobs, finish_reason: reason }],
        }));
      await Promise.all(choices.map(async (ch) => {
        let offset = 0;
        const echo = echoes?.[ch.index];
        if (echo) {
          chunk(ch.index, echo.text, echo.logprobs, null);
          offset = echo.text.length;
        }
        let streamed = "";
        const r = await generate(model, model.engine, ch.params, (ev) => {
          meter(ev);
          if (ev.type !== "token") return;
          let lp: Logprobs | null = null;
          if (body.logprobs != null) addToken(lp = emptyLogprobs(), ev.data, offset);
          chunk(ch.index, ev.data.piece, lp, null);
          offset += ev.data.piece.length;
          streamed += ev.data.piece;
        }, w.signal);
        const tail = r.text.slice(streamed.length);
        chunk(ch.index, tail, null, finish(r.done.finish_reason));
      }));
      w.send("[DONE]");
    }, (w, err) => {
      w.send(JSON.stringify(streamErrorBody(deps.health, err)));
      w.send("[DONE]");
    });
  };
}
