/** Between text and a word model's ids: prompts in, display text out. */
import { tokenize } from "../shared/tokenize.ts";
import { encode, EOS, type Vocab } from "../shared/vocab.ts";

const CLITICS = new Set(["n't", "'s", "'re", "'ve", "'m", "'ll", "'d", "'"]);

/**
 * PTB tokens of a prompt; a trailing `<eos>` only when the text ends a sentence. `tokens`: the
 * prompt already tokenized (server/tokenize_off.ts), which this trims in place.
 */
export function promptTokens(
  vocab: Vocab,
  prompt: string,
  tokens = tokenize(prompt, { known: (w) => vocab.index.has(w) }),
): string[] {
  const endsSentence = endsWithSentenceMark(prompt) || endsWithNewline(prompt);
  if (!endsSentence && tokens.at(-1) === EOS) tokens.pop();
  return tokens;
}

// Linear-time forms of /[.?!]["')\]]*\s*$/ and /\n\s*$/: an end-anchored regex is tried from
// every position, so a long run of ")" or "\n" made those quadratic.
function endsWithSentenceMark(text: string): boolean {
  let end = text.trimEnd().length;
  while (end > 0 && "\"')]".includes(text[end - 1]!)) end--;
  return end > 0 && ".?!".includes(text[end - 1]!);
}

function endsWithNewline(text: string): boolean {
  return text.slice(text.trimEnd().length).includes("\n");
}

export interface Context {
  /** `<eos>` followed by the prompt's ids: the model reads a prompt as the start of a text. */
  ids: Int32Array;
  /** The prompt's tokens (without the leading `<eos>`). */
  tokens: string[];
  oov: number;
}

export function promptContext(vocab: Vocab, prompt: string, tokenized?: string[]): Context {
  const tokens = promptTokens(vocab, prompt, tokenized);
  const { ids, oov } = encode(vocab, tokens);
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
