/**
 * vLLM's bodies for /tokenize and /detokenize, beside rotor's own: `{"prompt"}` → ids in
 * `tokens`, and `{"tokens": [ids]}` → `prompt`. lm-evaluation-harness's remote tokenizer
 * speaks this. The text of ids is the words joined by spaces (what a HuggingFace WordLevel
 * tokenizer decodes to), which tokenizes back to the same ids.
 */
import { z } from "zod";
import { decode, encode } from "../../shared/vocab.ts";
import type { Deps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import type { ServedModel } from "../models.ts";

export const VllmTokenizeSchema = z.object({
  prompt: z.string(),
  model: z.string().optional(),
  /** No special tokens are ever added: a text starts after `<eos>` without one. */
  add_special_tokens: z.boolean().optional(),
  return_token_strs: z.boolean().optional(),
});

export const VllmDetokenizeSchema = z.object({
  tokens: z.array(z.number().int()),
  model: z.string().optional(),
});

/** vLLM's answer for `body`, whose prompt the route tokenized (in a work slot) into `tokens`. */
export function vllmTokenize(
  deps: Deps,
  model: ServedModel,
  body: z.infer<typeof VllmTokenizeSchema>,
  tokens: string[],
) {
  const { ids } = encode(model.vocab, tokens);
  return {
    count: ids.length,
    // The longest prompt /v1/completions takes: what a client may send as one sequence.
    max_model_len: deps.limits.maxPromptTokens,
    tokens: Array.from(ids),
    ...(body.return_token_strs ? { token_strs: tokens } : {}),
  };
}

export function vllmDetokenize(model: ServedModel, body: z.infer<typeof VllmDetokenizeSchema>) {
  const n = model.vocab.words.length;
  const bad = body.tokens.findIndex((id) => id < 0 || id >= n);
  if (bad >= 0) {
    throw new ApiError(
      400,
      "invalid_request_error",
      `Invalid "tokens.${bad}" ${body.tokens[bad]}: token ids run from 0 to ${n - 1}`,
      `tokens.${bad}`,
    );
  }
  return { prompt: decode(model.vocab, body.tokens).join(" ") };
}
