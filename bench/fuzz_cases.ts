/**
 * Requests a hostile client sends, generated from a seed: every route, in every category of
 * bad input (bench/fuzz_serve.ts sends them). None may get a 5xx; which 4xx is not checked.
 */
import { createPrng, type Prng } from "../shared/prng.ts";

export interface FuzzCase {
  category: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

export interface FuzzLimits {
  maxPromptTokens: number;
  maxScoreTokens: number;
  maxDetokenizeIds: number;
  maxBodyBytes: number;
}

const POST_ROUTES = [
  "/v1/generate",
  "/v1/completions",
  "/v1/perplexity",
  "/tokenize",
  "/detokenize",
];
const GET_ROUTES = ["/health", "/metrics", "/v1/models", "/v1/models/x", "/", "/nope"];
const WORDS = ["the", "company", "said", "it", "n't", "'s", "N", "$", "<eos>", "<unk>", "a", "."];
const FIELDS: Record<string, string[]> = {
  "/v1/generate": [
    "prompt",
    "model",
    "max_tokens",
    "max_sentences",
    "temperature",
    "top_k",
    "top_p",
    "seed",
    "stop",
    "stream",
  ],
  "/v1/completions": [
    "prompt",
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "stream",
    "logprobs",
    "echo",
    "stop",
    "seed",
    "logit_bias",
    "best_of",
  ],
  "/v1/perplexity": ["text", "texts", "model", "per_token", "lines"],
  "/tokenize": ["text", "model", "lines"],
  "/detokenize": ["ids", "tokens", "model"],
};
/** Values that are wrong, extreme or non-finite somewhere (JSON has no NaN: 1e999 → Infinity). */
const ODD_VALUES = [
  "null",
  "true",
  "-1",
  "0",
  "-0",
  "1e999",
  "-1e999",
  "1e-320",
  "9007199254740993",
  "4294967296",
  "0.5",
  '""',
  '"NaN"',
  '"\\ud800"',
  '"\\udfff\\ud800x"',
  '"\\u0000"',
  "[]",
  "[1,2]",
  '["\\ud83d"]',
  "{}",
  '{"__proto__":{"x":1}}',
  '"' + "x".repeat(5000) + '"',
];
const MODEL_NAMES = [
  "nope",
  "../../etc/passwd",
  "__proto__",
  "constructor",
  "%2e%2e%2f",
  "\\u0000",
  "x".repeat(10_000),
  "<script>",
  "\\ud800",
];

const enc = new TextEncoder();
const pick = <T>(r: Prng, xs: readonly T[]): T => xs[r.int(xs.length)]!;
const json = (c: Omit<FuzzCase, "headers" | "body">, text: string, type = "application/json") => ({
  ...c,
  headers: { "content-type": type },
  body: enc.encode(text),
});

function words(r: Prng, n: number): string {
  return Array.from({ length: n }, () => pick(r, WORDS)).join(" ");
}

/** A plausible body for a route, with small random values. */
function validBody(r: Prng, path: string): Record<string, unknown> {
  switch (path) {
    case "/v1/generate":
      return { prompt: words(r, r.int(8)), max_tokens: 1 + r.int(8), seed: r.int(1000) };
    case "/v1/completions":
      return {
        prompt: words(r, 1 + r.int(8)),
        max_tokens: r.int(6),
        echo: r.int(2) === 1,
        logprobs: r.int(6),
        n: 1 + r.int(2),
        stream: r.int(2) === 1,
      };
    case "/v1/perplexity":
      return r.int(2) ? { text: words(r, 1 + r.int(20)) } : { texts: [words(r, 5), words(r, 3)] };
    case "/tokenize":
      return { text: words(r, r.int(20)) };
    default:
      return { ids: Array.from({ length: r.int(20) }, () => r.int(50)) };
  }
}

/** One case of `category` for a random route. */
function makeCase(r: Prng, category: string, limits: FuzzLimits): FuzzCase {
  const path = pick(r, POST_ROUTES);
  const c = { category, method: "POST", path };
  const body = validBody(r, path);
  switch (category) {
    case "valid":
      return json(c, JSON.stringify(body));
    case "malformed JSON": {
      const text = JSON.stringify(body);
      const broken = [
        text.slice(0, r.int(text.length)),
        text + ",",
        text.replace(":", ""),
        "{'prompt': 'x'}",
        "nul",
        "",
        "[",
        "\u0000",
        '{"a":1,}',
        "{" + '"a":'.repeat(100),
      ];
      return json(c, pick(r, broken));
    }
    case "wrong types": {
      const field = pick(r, FIELDS[path]!);
      const text = JSON.stringify(body).slice(0, -1);
      return json(c, `${text}${text.length > 1 ? "," : ""}"${field}":${pick(r, ODD_VALUES)}}`);
    }
    case "extreme numbers": {
      const field = pick(r, FIELDS[path]!);
      const n = pick(r, ["1e308", "-1e308", "1e999", "-1e999", "1e-320", "-0", "2147483648"]);
      return json(c, `{"${field}":${n}}`);
    }
    case "wrong content type": {
      const type = pick(r, [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "",
      ]);
      const text = pick(r, [JSON.stringify(body), "prompt=the&max_tokens=3", "--x\r\n\r\n"]);
      return json(c, text, type);
    }
    case "wrong method":
      return {
        ...c,
        method: pick(r, ["GET", "PUT", "DELETE", "PATCH"]),
        path: pick(r, [...POST_ROUTES, ...GET_ROUTES]),
        headers: {},
      };
    case "invalid UTF-8": {
      const text = JSON.stringify(body);
      const cut = r.int(text.length);
      const bad = pick(r, [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80]]);
      const bytes = new Uint8Array([
        ...enc.encode(text.slice(0, cut)),
        ...bad,
        ...enc.encode(text.slice(cut)),
      ]);
      return { ...c, headers: { "content-type": "application/json" }, body: bytes };
    }
    case "lone surrogates": {
      const s = pick(r, ["\\ud800", "\\udc00x", "a\\ud83d", "\\udfff\\ud800"]);
      const field = path === "/v1/perplexity" || path === "/tokenize" ? "text" : "prompt";
      if (path === "/detokenize") return json(c, `{"tokens":["${s}","the","${s}"]}`);
      return json(c, `{"${field}":"the ${s} said ${s}"}`);
    }
    case "deep body": {
      const depth = pick(r, [100, 5_000, 50_000, 200_000]);
      const open = pick(r, ["[", '{"a":']);
      const close = open === "[" ? "]" : "}";
      const inner = open.repeat(depth) + "1" + close.repeat(depth);
      return json(c, r.int(2) ? inner : `{"prompt":${inner},"text":${inner},"ids":${inner}}`);
    }
    case "huge body": {
      const size = pick(r, [limits.maxBodyBytes + 1, 2 * limits.maxBodyBytes, 5_000_000]);
      return json(c, `{"text":"${"a".repeat(size)}"}`);
    }
    case "oversized lists": {
      if (path === "/detokenize") {
        return json(c, JSON.stringify({ ids: Array(limits.maxDetokenizeIds + 1).fill(2) }));
      }
      if (path === "/v1/perplexity") {
        const n = Math.ceil((limits.maxScoreTokens + 1) / 500);
        const text = "the ".repeat(Math.min(500, limits.maxScoreTokens + 1));
        return json(c, JSON.stringify({ texts: Array(n).fill(text) }));
      }
      const prompt = "the ".repeat(limits.maxPromptTokens + 1 + r.int(100));
      const extra = path === "/v1/completions" ? { echo: true, logprobs: 5, max_tokens: 0 } : {};
      return json(c, JSON.stringify({ prompt, text: prompt, ...extra }));
    }
    case "unknown models": {
      const name = pick(r, MODEL_NAMES);
      if (r.int(3) === 0) {
        return { ...c, method: "GET", path: `/v1/models/${encodeURIComponent(name)}`, headers: {} };
      }
      return json(c, JSON.stringify(body).slice(0, -1) + `,"model":"${name}"}`);
    }
    default: { // "unknown fields"
      const name = pick(r, ["colour", "__proto__", "constructor", "x".repeat(300), ""]);
      return json(c, JSON.stringify(body).slice(0, -1) + `,"${name}":${pick(r, ODD_VALUES)}}`);
    }
  }
}

export const CATEGORIES = [
  "valid",
  "malformed JSON",
  "wrong types",
  "extreme numbers",
  "wrong content type",
  "wrong method",
  "invalid UTF-8",
  "lone surrogates",
  "deep body",
  "huge body",
  "oversized lists",
  "unknown models",
  "unknown fields",
] as const;

/**
 * `count` cases from `seed`, the categories in turn so every one is covered; made one at a
 * time, as a huge body is megabytes.
 */
export function* fuzzCases(seed: number, count: number, limits: FuzzLimits): Generator<FuzzCase> {
  const r = createPrng(seed);
  for (let i = 0; i < count; i++) yield makeCase(r, CATEGORIES[i % CATEGORIES.length]!, limits);
}
