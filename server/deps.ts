/** What every route handler is given: the models, the limits and the metrics. */
import { ApiError } from "./errors.ts";
import type { Metrics } from "./metrics.ts";
import type { ServedModel } from "./models.ts";

export interface Limits {
  /** Largest request body in bytes (413 past it). */
  maxBodyBytes: number;
  /** Largest `max_tokens` a generation may ask for. */
  maxTokens: number;
  /** Most tokens one /v1/perplexity request may score (413 past it). */
  maxScoreTokens: number;
  /** Most completions one /v1/completions request may ask for (`n` × prompts). */
  maxChoices: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 1_000_000,
  maxTokens: 2048,
  maxScoreTokens: 200_000,
  maxChoices: 16,
};

export interface Deps {
  models: ReadonlyMap<string, ServedModel>;
  /** The model used when a request names none; else the first one. */
  defaultModel?: string;
  limits: Limits;
  metrics: Metrics;
}

/** The requested model, the default one, or a 404 naming what exists. */
export function pickModel(deps: Deps, name: string | undefined): ServedModel {
  const want = name ?? deps.defaultModel ?? deps.models.keys().next().value;
  const m = want === undefined ? undefined : deps.models.get(want);
  if (m) return m;
  if (deps.models.size === 0) {
    throw new ApiError(503, "service_unavailable", "No model is loaded yet", "model");
  }
  throw new ApiError(
    404,
    "not_found_error",
    `Model "${want}" does not exist; available: ${[...deps.models.keys()].join(", ")}`,
    "model",
  );
}
