/**
 * Tokenizing without stalling the server: the tokenizer is linear, but a 1 MB text still takes
 * a few hundred milliseconds, during which no other request (nor /health) is answered. Texts
 * past OFF_THREAD_CHARS go to one shared worker, started on first use and stopped when idle;
 * shorter ones are tokenized here, where a worker's round trip would cost more.
 */
import { tokenize } from "../shared/tokenize.ts";
import type { Vocab } from "../shared/vocab.ts";
import type { TokenizeReply, TokenizeRequest } from "./tokenize_worker.ts";

/** Texts at least this long are tokenized on the worker (~10 ms of work here). */
export const OFF_THREAD_CHARS = 32_768;
const IDLE_MS = 30_000;

let worker: Worker | undefined;
let idle: ReturnType<typeof setTimeout> | undefined;
let nextId = 0, nextKey = 0;
const keys = new WeakMap<Vocab, number>();
const sent = new Set<number>();
const pending = new Map<number, { resolve: (t: string[]) => void; reject: (e: Error) => void }>();

/** Stop the worker now (tests; the server lets it stop when idle). */
export function closeTokenizer(): void {
  worker?.terminate();
  worker = undefined;
  sent.clear();
  for (const p of pending.values()) p.reject(new Error("The tokenizer was closed"));
  pending.clear();
  if (idle !== undefined) clearTimeout(idle);
  idle = undefined;
}

function start(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL("./tokenize_worker.ts", import.meta.url).href, { type: "module" });
  w.onmessage = (e: MessageEvent<TokenizeReply>) => {
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (!p) return;
    if ("error" in e.data) p.reject(new Error(e.data.error));
    else p.resolve(e.data.tokens === "" ? [] : e.data.tokens.split("\n"));
    if (pending.size === 0) idle = setTimeout(closeTokenizer, IDLE_MS);
  };
  w.onerror = (e) => {
    e.preventDefault();
    const err = new Error(`The tokenizer worker failed: ${e.message}`);
    const all = [...pending.values()];
    pending.clear();
    closeTokenizer();
    for (const p of all) p.reject(err);
  };
  return (worker = w);
}

/** PTB tokens of `text` for `vocab`'s model, as `tokenize` gives them. */
export function tokenizeText(vocab: Vocab, text: string, lines = false): Promise<string[]> {
  // Runtimes without workers (workerd) tokenize every text here.
  if (text.length < OFF_THREAD_CHARS || typeof Worker === "undefined") {
    return Promise.resolve(tokenize(text, { known: (w) => vocab.index.has(w), lines }));
  }
  const w = start();
  if (idle !== undefined) clearTimeout(idle);
  idle = undefined;
  let key = keys.get(vocab);
  if (key === undefined) keys.set(vocab, key = nextKey++);
  if (!sent.has(key)) {
    w.postMessage({ type: "vocab", key, words: vocab.words } satisfies TokenizeRequest);
    sent.add(key);
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ type: "tokenize", id, key, text, lines } satisfies TokenizeRequest);
  });
}
