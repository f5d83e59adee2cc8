/**
 * The score helper's worker: its own wasm backend and a copy of one model; scores the columns
 * of a stream it is asked for (server/score_helper.ts), on the wasm threads init names.
 * Protocol: init, then score requests, one reply each.
 */
/// <reference lib="deno.worker" />
import { helperNice } from "./helper_priority.ts"; // first: see there
import { tf } from "../shared/tf.ts";
import { initBackend } from "../shared/backend.ts";
import type { ModelConfig } from "../shared/config.ts";
import type { Params } from "../shared/model.ts";
import { scoreStream } from "../shared/perplexity.ts";
import type { ScoreReply, ScoreRequest } from "./score_helper.ts";

let config: ModelConfig | undefined;
const params: Params = {};

async function handle(m: ScoreRequest): Promise<ScoreReply> {
  if (m.type === "init") {
    await initBackend("wasm", { threads: m.threads });
    config = m.config;
    for (const [k, v] of Object.entries(m.values)) params[k] = tf.tensor(v, m.shapes[k]);
    return { type: "ok", nice: helperNice };
  }
  if (!config) throw new Error("score request before init");
  const t0 = performance.now();
  const s = scoreStream(params, config, m.stream, m.opts);
  return {
    type: "scored",
    nll: s.nll,
    tokens: s.tokens,
    ms: performance.now() - t0,
    ...(s.logprobs ? { logprobs: s.logprobs } : {}),
  };
}

self.onmessage = async (e: MessageEvent<ScoreRequest>) => {
  try {
    self.postMessage(await handle(e.data));
  } catch (err) {
    self.postMessage({ type: "error", message: (err as Error).message } satisfies ScoreReply);
  }
};
