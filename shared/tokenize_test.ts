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

Deno.test("detokenize() by parts gives what appending to one string gave", () => {
  const reference = (tokens: string[]) => {
    let text = "";
    for (const t of tokens) {
      if (t === "<eos>") {
        text += "\n";
        continue;
      }
      const attach = ["n't", "'s", "'re", "'ve", "'m", "'ll", "'d", "'"].includes(t);
      text += attach || text === "" || text.endsWith("\n") ? t : " " + t;
    }
    return text;
  };
  const words = ["the", "n't", "'", "<eos>", "", " ", "a ", "\n", "b\n", "'s", "  "];
  let seed = 7;
  for (let k = 0; k < 300; k++) {
    const tokens = Array.from({ length: k % 12 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return words[seed % words.length]!;
    });
    assert.equal(detokenize(tokens), reference(tokens), JSON.stringify(tokens));
  }
});

Deno.test("tokenize() and detokenize() take linear time on hostile input", () => {
  // Quadratic, each of these takes tens of minutes (1 MB of ")" ~30 min); linear, well
  // under a second, and a few seconds on a machine loaded many times over: a minute separates
  // the two with room to spare.
  const cases = [
    ")".repeat(1_000_000) + "a",
    '"'.repeat(1_000_000) + "a",
    ".)".repeat(500_000) + "a",
    "a" + "%".repeat(1_000_000),
    "a" + ".".repeat(1_000_000),
    "a.".repeat(500_000) + "..",
    ")".repeat(500_000) + ". The",
  ];
  for (const text of cases) {
    const t0 = performance.now();
    tokenize(text, { known });
    const ms = performance.now() - t0;
    assert.ok(ms < 60_000, `${JSON.stringify(text.slice(0, 12))}…: ${ms.toFixed(0)} ms`);
  }
  const t0 = performance.now();
  const text = detokenize(Array.from({ length: 400_000 }, (_, i) => (i % 9 ? "the" : "<eos>")));
  assert.ok(performance.now() - t0 < 60_000);
  assert.equal(text.split("\n").length - 1, 44_445); // one line per <eos>
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
