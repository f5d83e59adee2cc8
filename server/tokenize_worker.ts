/**
 * The tokenizer's worker (server/tokenize_off.ts): tokenizes long texts so the server's thread
 * keeps answering. Protocol: `vocab` once per vocabulary, then `tokenize` requests, one reply
 * each with the tokens joined by "\n" (no token holds whitespace; one string clones fast).
 */
/// <reference lib="deno.worker" />
import "./helper_priority.ts"; // first: see there
import { tokenize } from "../shared/tokenize.ts";

export type TokenizeRequest =
  | { type: "vocab"; key: number; words: readonly string[] }
  | { type: "tokenize"; id: number; key: number; text: string; lines: boolean };

export type TokenizeReply = { id: number; tokens: string } | { id: number; error: string };

const vocabs = new Map<number, Set<string>>();

self.onmessage = (e: MessageEvent<TokenizeRequest>) => {
  const m = e.data;
  if (m.type === "vocab") {
    vocabs.set(m.key, new Set(m.words));
    return;
  }
  try {
    const known = vocabs.get(m.key) ?? new Set();
    const tokens = tokenize(m.text, { known: (w) => known.has(w), lines: m.lines });
    self.postMessage({ id: m.id, tokens: tokens.join("\n") } satisfies TokenizeReply);
  } catch (err) {
    self.postMessage({ id: m.id, error: (err as Error).message } satisfies TokenizeReply);
  }
};
