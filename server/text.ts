/** Between text and a word model's ids: prompts in, display text out. */
import { tokenize } from "../shared/tokenize.ts";
import { decode, encode, EOS, type Vocab } from "../shared/vocab.ts";

const CLITICS = new Set(["n't", "'s", "'re", "'ve", "'m", "'ll", "'d", "'"]);

/** A prompt as text, or as token ids (OpenAI's legacy API takes both). */
export type Prompt = string | readonly number[];

/**
 * PTB tokens of a text prompt; `<eos>` at the end only when the text ends a sentence.
 * `tokenized`: the same tokens made elsewhere (a long prompt is tokenized on a worker).
 */
export function promptTokens(vocab: Vocab, prompt: string, tokenized?: string[]): string[] {
  return tokenized ?? tokenize(prompt, { known: (w) => vocab.index.has(w) });
}

export interface Context {
  /**
   * The ids the model reads: the prompt's own, after an `<eos>` (the model reads a prompt as
   * the start of a text). A prompt that starts with `<eos>` already carries that context, so
   * it is not doubled.
   */
  ids: Int32Array;
  /** The prompt's tokens, exactly as given (a leading `<eos>` included when the prompt has one). */
  tokens: string[];
  oov: number;
}

/** Ids checked against the vocabulary already (routes answer 400 before calling this). */
export function promptContext(vocab: Vocab, prompt: Prompt, tokenized?: string[]): Context {
  let tokens: string[], ids: Int32Array, oov = 0;
  if (typeof prompt === "string") {
    tokens = promptTokens(vocab, prompt, tokenized);
    ({ ids, oov } = encode(vocab, tokens));
  } else {
    ids = Int32Array.from(prompt);
    tokens = decode(vocab, ids);
  }
  if (ids[0] === vocab.eos) return { ids, tokens, oov };
  const all = new Int32Array(ids.length + 1);
  all[0] = vocab.eos;
  all.set(ids, 1);
  return { ids: all, tokens, oov };
}

/**
 * The text a token adds after text that does (`lineStart`) or does not end a line; the pieces
 * of a token sequence concatenate to `detokenize` of it.
 */
export function piece(token: string, lineStart: boolean): string {
  if (token === EOS) return "\n";
  return lineStart || CLITICS.has(token) ? token : " " + token;
}

/** Pieces of a sequence of tokens, starting at a line start unless told otherwise. */
export function pieces(tokens: readonly string[], lineStart = true): string[] {
  return tokens.map((t) => {
    const p = piece(t, lineStart);
    lineStart = t === EOS;
    return p;
  });
}
