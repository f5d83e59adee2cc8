/**
 * The tokenizer as clients load it: GET /v1/models/{id}/tokenizer.json and
 * tokenizer_config.json (HuggingFace files, built from the served vocabulary), and
 * GET /tokenizer_info, vLLM's description of it, which lm-evaluation-harness asks for first.
 */
import type { Context } from "hono";
import { hfTokenizer, hfTokenizerConfig } from "../../shared/hf_tokenizer.ts";
import { type Deps, pickModel } from "../deps.ts";
import type { ServedModel } from "../models.ts";

const built = new WeakMap<ServedModel, string>();

export function hfTokenizerHandler(deps: Deps) {
  return function hfTokenizerRoute(c: Context): Response {
    const model = pickModel(deps, c.req.param("id"));
    if (c.req.param("file") === "tokenizer_config.json") {
      return c.json(hfTokenizerConfig(deps.limits.maxPromptTokens));
    }
    let text = built.get(model);
    if (text === undefined) built.set(model, text = JSON.stringify(hfTokenizer(model.vocab)));
    return c.body(text, 200, { "content-type": "application/json" });
  };
}

export function tokenizerInfoHandler(deps: Deps) {
  return function tokenizerInfoRoute(c: Context): Response {
    const model = pickModel(deps, c.req.query("model"));
    return c.json({
      ...hfTokenizerConfig(deps.limits.maxPromptTokens),
      max_model_len: deps.limits.maxPromptTokens,
      model: model.name,
      vocab_size: model.vocab.words.length,
      eos_token_id: model.vocab.eos,
      unk_token_id: model.vocab.unk,
      tokenizer_json: `/v1/models/${model.name}/tokenizer.json`,
    });
  };
}
