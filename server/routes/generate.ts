/** POST /v1/generate: sentences from a prompt, streamed as SSE or as one JSON document. */
import type { Context } from "hono";
import { z } from "zod";
import { type Deps, type Limits, overLimit, pickModel } from "../deps.ts";
import { parseBody, readJson } from "../errors.ts";
import { streamErrorBody } from "../health.ts";
import { generate, type GenerateParams, type GenEvent } from "../generation.ts";
import { inc, labels, observe } from "../metrics.ts";
import type { ServedModel } from "../models.ts";
import { sseResponse } from "../sse.ts";
import { type Prompt, promptContext } from "../text.ts";
import { tokenizeText } from "../tokenize_off.ts";
import { slotsFor } from "../work_slots.ts";
import { admit, freshSeed, Seed, Stop } from "./sampling.ts";

export function generateSchema(limits: Limits) {
  return z.object({
    prompt: z.string().max(100_000).default(""),
    model: z.string().optional(),
    // MAX_TOKENS bounds the default as well as what a request asks.
    max_tokens: z.number().int().min(1).max(limits.maxTokens).default(
      Math.min(100, limits.maxTokens),
    ),
    max_sentences: z.number().int().min(1).optional(),
    temperature: z.number().min(0).max(5).default(1),
    top_k: z.number().int().min(0).optional(),
    top_p: z.number().gt(0).max(1).optional(),
    seed: Seed,
    stop: Stop,
    stream: z.boolean().default(true),
  }).strict();
}

/** Metrics for one stream's events: tokens counted, time between tokens observed. */
export function tokenMeter(deps: Deps, model: string): (ev: GenEvent) => void {
  let last = performance.now();
  const key = labels({ model });
  return (ev) => {
    if (ev.type !== "token") return;
    const now = performance.now();
    inc(deps.metrics.tokensGenerated, key);
    observe(deps.metrics.timePerToken, "", (now - last) / 1000);
    last = now;
  };
}

/**
 * A prompt's context, or a 413 when it has more tokens than `maxPromptTokens`. Text is
 * tokenized in work slots (one per started 64 KB; MAX_PENDING_WORK, 429 past it), as every
 * route's text is.
 */
export async function budgetedPrompt(
  deps: Deps,
  model: ServedModel,
  prompt: Prompt,
  param: string,
) {
  // Text is tokenized off the main thread when long; token ids are the tokens already.
  const context = typeof prompt === "string"
    ? promptContext(
      model.vocab,
      prompt,
      await deps.work.run(() => tokenizeText(model.vocab, prompt), slotsFor(prompt.length)),
    )
    : promptContext(model.vocab, prompt);
  if (context.tokens.length > deps.limits.maxPromptTokens) {
    throw overLimit("Prompt has", context.tokens.length, "maxPromptTokens", deps.limits, param);
  }
  return context;
}

export function generateHandler(deps: Deps) {
  const schema = generateSchema(deps.limits);
  return async function generateRoute(c: Context): Promise<Response> {
    const body = parseBody(schema, await readJson(c));
    const model = pickModel(deps, body.model);
    const context = await budgetedPrompt(deps, model, body.prompt, "prompt");
    const params: GenerateParams = {
      prompt: body.prompt,
      context,
      maxTokens: body.max_tokens,
      maxSentences: body.max_sentences,
      temperature: body.temperature,
      topK: body.top_k,
      topP: body.top_p,
      seed: body.seed ?? freshSeed(),
      stop: body.stop,
    };
    admit(model, 1);
    const meter = tokenMeter(deps, model.name);
    if (!body.stream) {
      const tokens: { id: number; text: string; logprob: number }[] = [];
      const sentences: unknown[] = [];
      const r = await generate(model, model.engine, params, (ev) => {
        meter(ev);
        if (ev.type === "token") {
          tokens.push({ id: ev.data.id, text: ev.data.text, logprob: ev.data.logprob });
        } else if (ev.type === "sentence") sentences.push(ev.data);
      }, c.req.raw.signal);
      return c.json({ model: model.name, text: r.text, sentences, tokens, ...r.done });
    }
    return sseResponse(c.req.raw.signal, async (w) => {
      const r = await generate(model, model.engine, params, (ev) => {
        meter(ev);
        if (ev.type === "token") {
          const { id, text, logprob } = ev.data;
          w.send(JSON.stringify({ id, text, logprob }), "token");
        } else w.send(JSON.stringify(ev.data), ev.type);
      }, w.signal);
      w.send(JSON.stringify(r.done), "done");
    }, (w, err) => {
      w.send(JSON.stringify(streamErrorBody(deps.health, err)), "error");
    });
  };
}
