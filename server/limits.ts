/**
 * What one request may ask of the server. Every budget is checked before the work it bounds
 * (tokenizing is linear in a body that is itself bounded), and each has an environment
 * variable (`LIMIT_ENV`) that the README lists.
 */
import { readIntEnv } from "./env_ints.ts";
import { DEFAULT_PROMPT_TOKENS } from "../shared/hf_tokenizer.ts";
import { ApiError } from "./errors.ts";

export interface Limits {
  /** Largest request body in bytes (413 past it). */
  maxBodyBytes: number;
  /** Largest `max_tokens` a generation may ask for. */
  maxTokens: number;
  /** Most tokens one /v1/perplexity request may score, all its texts together (413 past it). */
  maxScoreTokens: number;
  /** Most completions one /v1/completions request may ask for (`n` × prompts). */
  maxChoices: number;
  /** Most tokens one prompt may have (/v1/generate, /v1/completions, echo included; 413 past it). */
  maxPromptTokens: number;
  /** Most ids or tokens one /detokenize request may give (413 past it). */
  maxDetokenizeIds: number;
  /** Scoring requests (perplexity, echo, tokenize) in progress or waiting at once (429 past it). */
  maxPendingWork: number;
  /** Milliseconds a client has to send its whole body (408 past it). */
  bodyTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 1_000_000,
  maxTokens: 2048,
  maxScoreTokens: 200_000,
  maxChoices: 16,
  maxPromptTokens: DEFAULT_PROMPT_TOKENS,
  // As many as one /v1/completions request can return (16 choices × 2048 tokens).
  maxDetokenizeIds: 32_768,
  maxPendingWork: 16,
  bodyTimeoutMs: 10_000,
};

/** The environment variable that sets each limit (README lists them). */
export const LIMIT_ENV: Record<keyof Limits, string> = {
  maxBodyBytes: "MAX_BODY_BYTES",
  maxTokens: "MAX_TOKENS",
  maxScoreTokens: "MAX_SCORE_TOKENS",
  maxChoices: "MAX_CHOICES",
  maxPromptTokens: "MAX_PROMPT_TOKENS",
  maxDetokenizeIds: "MAX_DETOKENIZE_IDS",
  maxPendingWork: "MAX_PENDING_WORK",
  bodyTimeoutMs: "BODY_TIMEOUT_MS",
};

/** A 413 for a count over its limit, naming both and the setting that raises it; `what` is the
 * subject and its verb ("Prompt has"). */
export function overLimit(
  what: string,
  count: number,
  key: keyof Limits,
  limits: Limits,
  param: string | null,
): ApiError {
  return new ApiError(
    413,
    "request_too_large",
    `${what} ${count} ${key === "maxDetokenizeIds" ? "ids" : "tokens"}, more than the ` +
      `limit of ${limits[key]} (${LIMIT_ENV[key]})`,
    param,
  );
}

/** The limits set in the environment (by LIMIT_ENV's names), over the defaults. */
export function readLimitsEnv(env: Record<string, string | undefined>): Limits {
  return readIntEnv(env, LIMIT_ENV, DEFAULT_LIMITS);
}
