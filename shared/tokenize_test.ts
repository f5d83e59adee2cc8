import assert from "node:assert/strict";
import { detokenize, tokenize } from "./tokenize.ts";

const KNOWN = new Set(["u.s.", "mr.", "corp.", "the", "economy"]);
const known = (w: string) => KNOWN.has(w);

Deno.test("tokenize() splits raw English the PTB way", () => {
  assert.deepEqual(tokenize("The U.S. economy grew 3.5% in 1989, didn't it?", { known }), [
    "the",
    "u.s.",
    "economy",
    "grew",
    "N",
    "N",
    "in",
    "N",
    "did",
    "n't",
    "it",
    "<eos>",
  ]);
});

Deno.test("tokenize() splits clitics and possessives", () => {
  assert.deepEqual(
    tokenize("The company's chief can't say; investors' money won't wait.", { known }),
    [
      "the",
      "company",
      "'s",
      "chief",
      "ca",
      "n't",
      "say",
      "investors",
      "'",
      "money",
      "wo",
      "n't",
      "wait",
      "<eos>",
    ],
  );
});

Deno.test("tokenize() ends sentences at . ? ! but not after known abbreviations", () => {
  assert.deepEqual(
    tokenize("Mr. Smith left. He said $1,000 was paid (by Acme Corp.) at once. Really!", { known }),
    [
      "mr.",
      "smith",
      "left",
      "<eos>",
      "he",
      "said",
      "$",
      "N",
      "was",
      "paid",
      "by",
      "acme",
      "corp.",
      "at",
      "once",
      "<eos>",
      "really",
      "<eos>",
    ],
  );
});

Deno.test("tokenize() keeps PTB-tokenized lines as they are", () => {
  const line = " no it was n't black monday <unk> $ N million 's ' mr. u.s. ";
  assert.deepEqual(tokenize(line, { lines: true, known }), [
    "no",
    "it",
    "was",
    "n't",
    "black",
    "monday",
    "<unk>",
    "$",
    "N",
    "million",
    "'s",
    "'",
    "mr.",
    "u.s.",
    "<eos>",
  ]);
});

Deno.test("detokenize() re-attaches clitics and breaks lines at <eos>", () => {
  assert.equal(
    detokenize(["it", "did", "n't", "fall", "<eos>", "the", "company", "'s", "shares", "<eos>"]),
    "it didn't fall\nthe company's shares\n",
  );
});

Deno.test("tokenize() adds no <eos> behind an abbreviation that ends the text", () => {
  assert.deepEqual(tokenize("Sales rose in the U.S.", { known }), [
    "sales",
    "rose",
    "in",
    "the",
    "u.s.",
  ]);
  assert.deepEqual(tokenize("It was the economy.", { known }), [
    "it",
    "was",
    "the",
    "economy",
    "<eos>",
  ]);
  assert.deepEqual(tokenize("the economy", { known }), ["the", "economy"]);
});

Deno.test("tokenize() reads every newline as one <eos>, never two", () => {
  assert.deepEqual(tokenize("the economy\nthe U.S.\n\nIt fell.\nthe", { known }), [
    "the",
    "economy",
    "<eos>",
    "the",
    "u.s.",
    "<eos>",
    "<eos>",
    "it",
    "fell",
    "<eos>",
    "the",
  ]);
  assert.deepEqual(tokenize("\nthe <eos> economy", { known }), [
    "<eos>",
    "the",
    "<eos>",
    "economy",
  ]);
  const tokens = ["<eos>", "the", "economy", "<eos>", "<eos>", "the", "<eos>"];
  assert.equal(detokenize(tokens), "\nthe economy\n\nthe\n");
  assert.deepEqual(tokenize(detokenize(tokens), { known }), tokens);
});
