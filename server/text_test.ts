import assert from "node:assert/strict";
import { detokenize } from "../shared/tokenize.ts";
import { smallVocab } from "../shared/testing.ts";
import { piece, pieces, promptContext, promptTokens } from "./text.ts";

Deno.test("pieces() join to what detokenize() gives", () => {
  const tokens = ["the", "company", "'s", "profit", "<eos>", "it", "did", "n't", "<eos>"];
  assert.equal(pieces(tokens).join(""), detokenize(tokens));
  assert.equal(piece("the", false), " the");
  assert.equal(piece("<eos>", false), "\n");
});

Deno.test("promptTokens() ends with <eos> only when the prompt ends a sentence", () => {
  const vocab = smallVocab();
  assert.deepEqual(promptTokens(vocab, "The company"), ["the", "company"]);
  assert.deepEqual(promptTokens(vocab, "It said so."), ["it", "said", "so", "<eos>"]);
  assert.deepEqual(promptTokens(vocab, ""), []);
});

Deno.test("promptContext() starts with <eos> and counts unknown words", () => {
  const vocab = smallVocab();
  const ctx = promptContext(vocab, "the zebra");
  assert.deepEqual(Array.from(ctx.ids), [vocab.eos, vocab.index.get("the"), vocab.unk]);
  assert.equal(ctx.oov, 1);
});

Deno.test("promptTokens() reads a sentence end in linear time, as the regexes did", () => {
  const vocab = smallVocab();
  const ends = (p: string) => promptTokens(vocab, p).at(-1) === "<eos>";
  for (const p of ["the said.", 'the said.") ', "the said?\n", "the\n  ", "the said!)]"]) {
    assert.ok(ends(p), JSON.stringify(p));
  }
  for (const p of ["the said", "the said .x", "the ) ", "the said.a"]) {
    assert.ok(!ends(p), JSON.stringify(p));
  }
  for (const p of ["a" + "\n ".repeat(300_000) + "b", "a." + ")".repeat(600_000) + "a"]) {
    const t0 = performance.now();
    promptTokens(vocab, p);
    // Quadratic this took minutes; linear, milliseconds (seconds on a very busy machine).
    assert.ok(performance.now() - t0 < 60_000, "quadratic on a hostile prompt");
  }
});
