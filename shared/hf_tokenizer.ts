/**
 * A model's tokenizer as a HuggingFace `tokenizer.json` (WordLevel), so that `tokenizers` in
 * Python and `@huggingface/tokenizers` / transformers.js in JS give the ids rotor gives.
 *
 * The rules of shared/tokenize.ts become a chain of regex `Replace` normalizers over the
 * whole text, each bounded to whitespace-separated chunks by `(?<!\S)` / `(?!\S)`. Replace
 * writes its content literally, so text that a later rule must not touch (`N`, `<unk>`,
 * `<eos>`, a lone `'`, the dots of a known abbreviation, `$`) is parked on private-use
 * characters and put back at the end. Patterns use only what Oniguruma (the Rust crate) and
 * the JS port both read: fixed-width look-behind, `\z` for the end of the text.
 */
import { EOS, UNK, type Vocab } from "./vocab.ts";

const CLITICS = ["n't", "'s", "'re", "'ve", "'m", "'ll", "'d"];
/** Characters splitWord strips from a chunk's end (`%` becomes a trailing `N`). */
const TAIL = String.raw`[)"\]},;:!?` + "`" + String.raw`%.]`;
const LEAD = String.raw`[("'` + "`" + String.raw`\[{<]`;

/** Private-use stand-ins, restored by the last normalizers. */
const PARK = {
  N: "\uE001",
  [UNK]: "\uE002",
  [EOS]: "\uE003",
  "'": "\uE004",
  ".": "\uE005",
  $: "\uE006",
} as const;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const caseless = (s: string) =>
  [...s].map((c) => /[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : escape(c)).join("");

type Json = Record<string, unknown>;
const replace = (regex: string, content: string): Json => ({
  type: "Replace",
  pattern: { Regex: regex },
  content,
});
const literal = (from: string, content: string): Json => ({
  type: "Replace",
  pattern: { String: from },
  content,
});

function normalizers(vocab: Vocab): Json[] {
  const words = vocab.words;
  const chunk = (s: string) => `(?<!\\S)${s}(?!\\S)`;
  const out: Json[] = [
    literal("\u2018", "'"),
    literal("\u2019", "'"),
    literal("\u201c", '"'),
    literal("\u201d", '"'),
    // Chunks splitWord keeps whole, before any rule can touch them.
    replace(chunk("N"), PARK.N),
    replace(chunk(escape(UNK)), PARK[UNK]),
    replace(chunk(escape(EOS)), PARK[EOS]),
    replace(chunk("'"), PARK["'"]),
  ];
  // Known abbreviations ("u.s.", "mr.") keep their dots: none ends a sentence or is stripped.
  for (const w of words.filter((w) => w.endsWith(".") && w.length > 1)) {
    out.push(replace(
      `(?<![^\\s(\"'\`\\[{<])${caseless(w)}(?=${TAIL}*(?!\\S))`,
      w.replaceAll(".", PARK["."]),
    ));
  }
  // . ? ! end a sentence before a capitalised word on the same line or at the end of the text.
  const next = String.raw`(?=["')\]]*(?:[^\S\n]+["'(\[]*[A-Z]|[^\S\n]*\z))`;
  for (const p of [".", "?", "!"]) out.push(replace(escape(p) + next, `${p} ${PARK[EOS]} `));
  out.push(
    literal("\n", ` ${PARK[EOS]} `),
    { type: "Lowercase" },
  );
  // Leading punctuation goes, except on clitics and known words that start with it ("'80s").
  const keepLead = [...new Set([...CLITICS, ...words.filter((w) => /^[("'`[{<]/.test(w))])];
  out.push(
    replace(`(?<!\\S)(?!(?:${keepLead.map(escape).join("|")})(?!\\S))${LEAD}+`, ""),
    replace(String.raw`(?<!\S)\$`, `${PARK.$} `),
    replace(String.raw`(?<!\S)#`, "# "),
    // "3.5%" → "3.5 N": each % at a chunk's end is a word `N` after it.
    replace(`%(?=${TAIL}*(?!\\S))`, ` ${PARK.N}`),
    replace(`${TAIL}+(?!\\S)`, ""),
  );
  for (const c of CLITICS) out.push(replace(`(?<=\\S)${escape(c)}(?!\\S)`, ` ${c}`));
  out.push(
    replace(String.raw`(?<=s)'(?!\S)`, " '"),
    replace(
      chunk(String.raw`(?=\S*\d)[+-]?(?:\d[\d,]*)?(?:\.\d+)?(?:/\d+)?`),
      PARK.N,
    ),
  );
  for (const [word, mark] of Object.entries(PARK)) out.push(literal(mark, word));
  return out;
}

/** The `tokenizer.json` of a vocabulary. */
export function hfTokenizer(vocab: Vocab): Json {
  const special = (id: number) => ({
    id,
    content: vocab.words[id],
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(vocab.unk), special(vocab.eos)].sort((a, b) => a.id - b.id),
    normalizer: { type: "Sequence", normalizers: normalizers(vocab) },
    pre_tokenizer: { type: "WhitespaceSplit" },
    post_processor: null,
    decoder: null,
    model: {
      type: "WordLevel",
      vocab: Object.fromEntries(vocab.words.map((w, i) => [w, i])),
      unk_token: UNK,
    },
  };
}

/**
 * The most tokens a prompt may have on a rotor server by default (server/limits.ts's
 * MAX_PROMPT_TOKENS starts here): what a model folder's tokenizer_config.json advertises as
 * `model_max_length`. The recurrence itself has no limit; the server's budget does.
 */
export const DEFAULT_PROMPT_TOKENS = 4096;

/**
 * The `tokenizer_config.json` beside it: no BOS (a text starts after `<eos>`), no padding, and
 * `maxLength` (the longest prompt the server takes) as `model_max_length`.
 */
export function hfTokenizerConfig(maxLength = DEFAULT_PROMPT_TOKENS): Json {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    eos_token: EOS,
    unk_token: UNK,
    bos_token: null,
    pad_token: null,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: maxLength,
  };
}
