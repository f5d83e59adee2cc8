/**
 * POST /tokenize and /detokenize: the model's view of a text, and back. Bodies in vLLM's shape
 * (`prompt`; `tokens` as ids) get vLLM's answers (vllm_tokenize.ts).
 */
import type { Context } from "hono";
import { z } from "zod";
import { detokenize } from "../../shared/tokenize.ts";
import { tokenizeText } from "../tokenize_off.ts";
import { slotsFor } from "../work_slots.ts";
import { decode, encode } from "../../shared/vocab.ts";
import { type Deps, overLimit, pickModel } from "../deps.ts";
import { ApiError, parseBody, readJson } from "../errors.ts";
import {
  vllmDetokenize,
  VllmDetokenizeSchema,
  vllmTokenize,
  VllmTokenizeSchema,
} from "./vllm_tokenize.ts";

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

export const TokenizeSchema = z.object({
  text: z.string(),
  model: z.string().optional(),
  lines: z.boolean().default(false),
}).strict();

export const DetokenizeSchema = z.object({
  ids: z.array(z.number().int().min(0)).optional(),
  tokens: z.array(z.string()).optional(),
  model: z.string().optional(),
}).strict().refine((b) => (b.ids === undefined) !== (b.tokens === undefined), {
  message: 'Give exactly one of "ids" and "tokens"',
  path: ["ids"],
});

export function tokenizeHandler(deps: Deps) {
  return async function tokenizeRoute(c: Context): Promise<Response> {
    const raw = await readJson(c);
    // Both forms tokenize in work slots, one per started 64 KB (MAX_PENDING_WORK; 429 past
    // it), long texts off the main thread.
    if (isObject(raw) && "prompt" in raw) {
      const body = parseBody(VllmTokenizeSchema, raw);
      const model = pickModel(deps, body.model);
      const tokens = await deps.work.run(
        () => tokenizeText(model.vocab, body.prompt),
        slotsFor(body.prompt.length),
      );
      return c.json(vllmTokenize(deps, model, body, tokens));
    }
    const body = parseBody(TokenizeSchema, raw);
    const model = pickModel(deps, body.model);
    const tokens = await deps.work.run(
      () => tokenizeText(model.vocab, body.text, body.lines),
      slotsFor(body.text.length),
    );
    const { ids, oov } = encode(model.vocab, tokens);
    return c.json({ model: model.name, tokens, ids: Array.from(ids), oov_tokens: oov });
  };
}

export function detokenizeHandler(deps: Deps) {
  return async function detokenizeRoute(c: Context): Promise<Response> {
    const raw = await readJson(c);
    // The list's length before the schema looks at each of its items.
    for (const param of ["ids", "tokens"]) {
      const list = (raw as Record<string, unknown> | null)?.[param];
      if (Array.isArray(list) && list.length > deps.limits.maxDetokenizeIds) {
        throw overLimit("The list has", list.length, "maxDetokenizeIds", deps.limits, param);
      }
    }
    if (isObject(raw) && Array.isArray(raw.tokens) && typeof raw.tokens[0] === "number") {
      const body = parseBody(VllmDetokenizeSchema, raw);
      return c.json(vllmDetokenize(pickModel(deps, body.model), body));
    }
    const body = parseBody(DetokenizeSchema, raw);
    const model = pickModel(deps, body.model);
    let tokens = body.tokens;
    if (body.ids) {
      const bad = body.ids.findIndex((id) => id >= model.vocab.words.length);
      if (bad >= 0) {
        throw new ApiError(
          400,
          "invalid_request_error",
          `Invalid "ids.${bad}" ${
            body.ids[bad]
          }: the vocabulary has ${model.vocab.words.length} words`,
          `ids.${bad}`,
        );
      }
      tokens = decode(model.vocab, body.ids);
    }
    return c.json({ model: model.name, text: detokenize(tokens!) });
  };
}
