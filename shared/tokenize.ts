/**
 * PTB-style tokenization (Mikolov et al.'s language-modelling version of the Penn Treebank):
 * lower case; numbers → `N`; clitics split ("didn't" → "did n't", "company's" → "company 's");
 * punctuation dropped except inside words and on abbreviations the vocabulary knows
 * ("u.s.", "mr."); `%` → `N` (the data set writes "3.5%" as "N N"); sentence ends → `<eos>`.
 * Text that is already PTB-tokenized passes through unchanged.
 */
import { EOS, UNK } from "./vocab.ts";

const CLITICS = ["n't", "'s", "'re", "'ve", "'m", "'ll", "'d"];
const NUMBER = /^[+-]?(?:\d[\d,]*)?(?:\.\d+)?(?:\/\d+)?$/;
const KEEP = new Set([UNK, EOS, "N", "$", "&", "#", "'", "--"]);

/** Split one whitespace-free chunk into PTB tokens, given a test for known words. */
function splitWord(raw: string, known: (w: string) => boolean): string[] {
  if (KEEP.has(raw)) return [raw];
  let w = raw.toLowerCase().replace(/[\u2018\u2019]/g, "'").replace(/[\u201c\u201d]/g, '"');
  const out: string[] = [];
  const tail: string[] = [];
  // Leading and trailing punctuation that PTB drops ($ and # are words of their own).
  if (!CLITICS.includes(w) && !isKnown(w, known)) w = w.replace(/^[("'`\[{<]+/, "");
  let start = 0;
  while (w[start] === "$" || w[start] === "#") out.push(w[start++]!);
  if (start > 0) w = w.slice(start);
  // Each pass drops at least one character and looks at no more than it drops plus a short
  // word, so the loop is linear in the chunk (an end-anchored regex would be quadratic); `end`
  // moves instead of the string being cut each time.
  let end = w.length;
  for (;;) {
    const e = trimEndOf(w, CLOSERS, end);
    if (e < end) {
      end = e;
      continue;
    }
    if (end > 0 && w[end - 1] === "%") {
      tail.push("N");
      end--;
      continue;
    }
    if (end > 0 && w[end - 1] === ".") {
      const head = end <= LONGEST_WORD ? w.slice(0, end) : undefined;
      if (!(head && (known(head) || isAbbreviation(head)))) {
        end--;
        continue;
      }
    }
    break;
  }
  w = w.slice(0, end);
  if (w.length > 0) {
    let clitic: string | undefined;
    for (const c of CLITICS) {
      if (w.length > c.length && w.endsWith(c)) {
        clitic = c;
        break;
      }
    }
    if (clitic) {
      // "can't" → "ca n't" and "won't" → "wo n't", as the treebank writes them.
      out.push(...numberOrWord(w.slice(0, -clitic.length)), clitic);
    } else if (w.length > 1 && w.endsWith("'") && w.at(-2) === "s") {
      out.push(...numberOrWord(w.slice(0, -1)), "'"); // plural possessive: "investors'" → "investors '"
    } else {
      out.push(...numberOrWord(w));
    }
  }
  return [...out, ...tail];
}

/** Characters PTB drops at the end of a word. */
const CLOSERS = new Set([...'")]},;:!?`']);
/** Closing quotes and brackets that may follow a sentence's last mark. */
const QUOTES = new Set([..."\"')]"]);
/** Opening quotes and brackets that may come before an abbreviation ("(U.S."). */
const OPENERS = new Set([..."(\"'`[{<"]);

/** Where the trailing run of characters in `set` before `end` starts; linear in that run. */
function trimEndOf(w: string, set: ReadonlySet<string>, end = w.length): number {
  while (end > 0 && set.has(w[end - 1]!)) end--;
  return end;
}

/** No vocabulary word is this long; longer chunks skip the lookups (each costs its length). */
const LONGEST_WORD = 64;

function isKnown(w: string, known: (w: string) => boolean): boolean {
  return w.length <= LONGEST_WORD && known(w);
}

/** "u.s.", "a.m.": letters each followed by a period. */
function isAbbreviation(w: string): boolean {
  return /^(?:[a-z]\.)+$/.test(w);
}

function numberOrWord(w: string): string[] {
  if (w.length === 0) return [];
  if (/\d/.test(w) && NUMBER.test(w)) return ["N"];
  return [w];
}

/** A chunk ending in . ? or ! closes a sentence before a capitalised word or at the end of the
 * text, unless it is an abbreviation the vocabulary knows ("Mr. Smith", "the U.S.", "in the U.S."). */
function endsSentence(
  chunk: string,
  next: string | undefined,
  known: (w: string) => boolean,
): boolean {
  const end = trimEndOf(chunk, QUOTES);
  if (end === 0 || !".?!".includes(chunk[end - 1]!)) return false;
  let start = 0;
  while (start < end && OPENERS.has(chunk[start]!)) start++;
  const bare = chunk.slice(start, end).toLowerCase();
  if (bare.endsWith(".") && isKnown(bare, known)) return false;
  return next === undefined || /^["'(\[]*[A-Z]/.test(next);
}

export interface TokenizeOptions {
  /** Words the model knows; used to keep abbreviations such as "u.s." whole. */
  known?: (w: string) => boolean;
  /** Treat each non-empty line as one sentence (PTB files); otherwise see `tokenize`. */
  lines?: boolean;
  /** Emit `<eos>` at sentence ends (default true). */
  eos?: boolean;
}

/**
 * Tokenize text the PTB way. Outside `lines` mode the rules are the ones a client can predict
 * from the text alone: every newline is one `<eos>` (so `<eos>` and "\n" map to each other
 * both ways), and . ? ! end a sentence (`<eos>`) before a capitalised word on the same line or
 * at the very end of the text, except on an abbreviation the vocabulary knows. Text that ends
 * mid-sentence gets no `<eos>`. In `lines` mode each non-empty line is a sentence.
 *
 * @example
 * tokenize("The U.S. economy grew 3.5% in 1989, didn't it?", { known: (w) => w === "u.s." })
 * // → ["the", "u.s.", "economy", "grew", "N", "N", "in", "N", "did", "n't", "it", "<eos>"]
 */
export function tokenize(text: string, opts: TokenizeOptions = {}): string[] {
  const known = opts.known ?? (() => false);
  const eos = opts.eos ?? true;
  const out: string[] = [];
  const lines = text.split("\n");
  for (const [l, line] of lines.entries()) {
    const chunks = line.split(/\s+/).filter((c) => c.length > 0);
    if (opts.lines && chunks.length === 0) continue;
    const lastLine = l === lines.length - 1;
    // Tokens since the last `<eos>`: a sentence end only closes a sentence that has words.
    let open = false;
    for (const [i, chunk] of chunks.entries()) {
      const toks = splitWord(chunk, known);
      for (const t of toks) out.push(t); // a spread of a million arguments overflows the stack
      if (toks.length > 0) open = toks.at(-1) !== EOS;
      if (opts.lines || !eos || !open) continue;
      const next = chunks[i + 1];
      // A sentence end at a line's end is the newline's `<eos>`, not a second one.
      if (next === undefined && !lastLine) continue;
      if (endsSentence(chunk, next, known)) {
        out.push(EOS);
        open = false;
      }
    }
    if (!eos) continue;
    if (opts.lines ? open : !lastLine) out.push(EOS);
  }
  return out;
}

/** Join PTB tokens into readable text: clitics re-attached, `<eos>` becomes a line break. */
export function detokenize(tokens: readonly string[]): string {
  // Pieces joined once at the end: appending to one string and looking at its end flattens
  // it every time, which is quadratic in the text.
  const parts: string[] = [];
  for (const t of tokens) {
    if (t === EOS) {
      parts.push("\n"); // one per <eos>, as tokenize reads them back
      continue;
    }
    const attach = CLITICS.includes(t) || t === "'";
    const last = parts.at(-1);
    const part = attach || last === undefined || last.endsWith("\n") ? t : " " + t;
    if (part !== "") parts.push(part); // so the last part is the text's end
  }
  return parts.join("");
}
