import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { hfTokenizer, hfTokenizerConfig } from "./hf_tokenizer.ts";
import { ptbDir } from "./ptb.ts";
import { tokenize } from "./tokenize.ts";
import { encode, vocabFromText } from "./vocab.ts";

const MODEL = new URL("../models/ptb-ugru/", import.meta.url).pathname;
const vocab = vocabFromText(readFileSync(join(MODEL, "vocab.txt"), "utf8"));
const known = (w: string) => vocab.index.has(w);
// A real implementation of the format, from npm, reading the file as clients will.
const hf = new Tokenizer(hfTokenizer(vocab), hfTokenizerConfig());

const rotorIds = (text: string) => Array.from(encode(vocab, tokenize(text, { known })).ids);
const hfIds = (text: string) => hf.encode(text, { add_special_tokens: false }).ids;

const RAW = [
  "The U.S. economy grew 3.5% in 1989, didn't it?",
  "The company's chief can't say; investors' money won't wait.",
  "Mr. Smith left. He said $1,000 was paid (by Acme Corp.) at once. Really!",
  "Sales rose in the U.S.",
  "the economy\nthe U.S.\n\nIt fell.\nthe",
  "<eos> the N <unk> economy 's ' -- & # $ N",
  '"Stocks fell," he said. "Bonds rose!" (They did.) Prices were up 12 1/2 to 3,400.5.',
  "Messrs. Jones and N.V. Philips met in Washington, D.C. on Nov. 5. They agreed.",
  "\u2018Quoted\u2019 \u201cdouble\u201d ... well? yes! OK.",
  "Its 50%-owned unit lost $2.5 billion. The '80s were good; it's the investors' fault.",
];

Deno.test("hfTokenizer() gives rotor's ids on raw English", () => {
  for (const text of RAW) assert.deepEqual(hfIds(text), rotorIds(text), text);
});

Deno.test("hfTokenizer() reads every vocabulary word back as itself", () => {
  assert.deepEqual(hfIds(vocab.words.join(" ")), vocab.words.map((_, i) => i));
  // Decoding joins words with spaces, which reads back to the same ids.
  const ids = rotorIds(RAW[2]!);
  assert.deepEqual(hfIds(hf.decode(ids, { skip_special_tokens: false })), ids);
});

const testFile = join(ptbDir(), "ptb.test.txt");
Deno.test({
  name: "hfTokenizer() gives rotor's ids on the PTB test file",
  ignore: !existsSync(testFile),
  fn() {
    const text = readFileSync(testFile, "utf8");
    const want = rotorIds(text);
    assert.equal(want.length, 82430);
    assert.deepEqual(hfIds(text), want);
  },
});

Deno.test("the shipped models carry the tokenizer.json their vocabulary gives", () => {
  for (const name of ["ptb-ugru", "ptb-urnn"]) {
    const dir = new URL(`../models/${name}/`, import.meta.url).pathname;
    const v = vocabFromText(readFileSync(join(dir, "vocab.txt"), "utf8"));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")), hfTokenizer(v));
    assert.deepEqual(
      JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
      hfTokenizerConfig(),
    );
  }
});
