/** What a Workers deployment is told through its environment (wrangler.toml's [vars]). */
import { DEFAULT_LIMITS, type Limits } from "../server/limits.ts";
import { modelName } from "../server/models.ts";

export interface EdgeEnv {
  /** The model folders, comma-separated http(s) URLs; the first is the default model. */
  MODEL_URL?: string;
  MAX_ACTIVE_STREAMS?: string;
  MAX_QUEUED_STREAMS?: string;
  /**
   * Host names the Host header may carry, comma-separated (default: any: a Worker is reached
   * at its public names, never on a private network that DNS rebinding could reach).
   */
  ALLOWED_HOSTS?: string;
  /** Origins whose pages may call the Worker, with CORS (default: none). */
  CORS_ORIGINS?: string;
}

/**
 * The server's limits, with a lower scoring budget: an isolate has 128 MB in all and the wasm
 * heap never shrinks. A long text is scored in blocks of 10 columns × 35 steps whatever its
 * length, and that block's logits set the heap: 85 MB after 10,000 tokens and still 85 MB
 * after 20,000 (workerd, ptb-ugru), with 16–28 MB of JS heap beside it. The budget is 10,000
 * tokens (the Deno server's 200,000 would take ~2 minutes of the object's one thread).
 */
export const EDGE_LIMITS: Limits = { ...DEFAULT_LIMITS, maxScoreTokens: 10_000 };

/** Model name → folder URL, in MODEL_URL's order; an error when MODEL_URL is unset. */
export function modelUrls(env: EdgeEnv): Map<string, string> {
  const urls = (env.MODEL_URL ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (urls.length === 0) throw new Error("MODEL_URL is not set: give the model folder's URL");
  return new Map(urls.map((u) => [modelName(u), u]));
}
