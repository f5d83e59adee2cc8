/**
 * The heavy cases of `deno task fuzz:serve`: the requests that froze, poisoned or broke the
 * server, at and past their budgets, a flood of long texts to tokenize, and the requests a web
 * page could make of a server on loopback.
 */
import { DEFAULT_LIMITS } from "../server/limits.ts";
import type { FuzzCase } from "./fuzz_cases.ts";

/** How long a heavy case may take: scoring four 4,900-token texts on one thread takes ~30 s. */
export const HEAVY_TIMEOUT_MS = 300_000;

/** Send one case; its status (0: no answer), with a time limit. */
export async function send(url: string, c: FuzzCase, timeoutMs = 60_000): Promise<number> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url + c.path, {
      method: c.method,
      headers: c.headers,
      body: c.method === "GET" || c.method === "HEAD" ? undefined : c.body as BodyInit | undefined,
      signal: ac.signal,
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

export const post = (path: string, body: unknown, headers?: Record<string, string>): FuzzCase => ({
  category: "heavy",
  method: "POST",
  path,
  headers: headers ?? { "content-type": "application/json" },
  body: new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body)),
});

/** The requests that froze, poisoned or broke the server, at and past their budgets. */
export interface HeavyCase {
  name: string;
  c: FuzzCase;
  want: number;
  /** Send this many copies at once (default 1); each must answer `want` or one of `alsoOk`. */
  copies?: number;
  alsoOk?: number[];
}

export function heavyCases(): HeavyCase[] {
  const L = DEFAULT_LIMITS;
  const maxPrompt = "the ".repeat(L.maxPromptTokens);
  // Ten tokens a sentence, <eos> included; under 5,000 tokens a text is scored on the main thread.
  const text = (n: number) => "the company said it would buy a stake . ".repeat(Math.ceil(n / 10));
  return [
    {
      name: "generate, longest prompt",
      c: post("/v1/generate", { prompt: maxPrompt, max_tokens: 4, stream: false }),
      want: 200,
    },
    {
      name: "echo + logprobs, longest prompt",
      c: post("/v1/completions", { prompt: maxPrompt, max_tokens: 0, echo: true, logprobs: 5 }),
      want: 200,
    },
    {
      name: "the poisoning echo (60,000 tokens)",
      c: post("/v1/completions", {
        prompt: "the ".repeat(60_000),
        max_tokens: 0,
        echo: true,
        logprobs: 5,
      }),
      want: 413,
    },
    {
      name: "generate, 99,998-character prompt",
      c: post("/v1/generate", { prompt: "the ".repeat(25_000).slice(0, 99_998) }),
      want: 413,
    },
    {
      name: "perplexity, 4,900 tokens here",
      c: post("/v1/perplexity", { text: text(4_900), per_token: true }),
      want: 200,
    },
    {
      name: "perplexity, texts 4 × 4,900 tokens",
      c: post("/v1/perplexity", { texts: Array(4).fill(text(4_900)) }),
      want: 200,
    },
    {
      name: "perplexity, 20,000 tokens on workers",
      c: post("/v1/perplexity", { text: text(20_000) }),
      want: 200,
    },
    {
      name: "detokenize, most ids",
      c: post("/detokenize", { ids: Array(L.maxDetokenizeIds).fill(2) }),
      want: 200,
    },
    {
      name: "detokenize, 200,000 ids",
      c: post("/detokenize", { ids: Array(200_000).fill(2) }),
      want: 413,
    },
    {
      name: 'tokenize, ")" × 900,000 + "a"',
      c: post("/tokenize", { text: ")".repeat(900_000) + "a" }),
      want: 200,
    },
    {
      name: "tokenize, 990 KB of text",
      c: post("/tokenize", { text: text(200_000).slice(0, 990_000) }),
      want: 200,
    },
    {
      // vLLM's form: tokenized on the main thread and without a work slot, this stalled /health
      // for seconds.
      name: 'tokenize flood, 20 × 990 KB {"prompt"}',
      c: post("/tokenize", { prompt: text(200_000).slice(0, 990_000) }),
      want: 200,
      copies: 20,
      alsoOk: [429],
    },
    {
      name: "array nested 50,000 deep",
      c: post("/v1/generate", "[".repeat(50_000) + "]".repeat(50_000)),
      want: 400,
    },
    { name: "5 MB body", c: post("/v1/perplexity", { text: "a".repeat(5_000_000) }), want: 413 },
  ];
}
