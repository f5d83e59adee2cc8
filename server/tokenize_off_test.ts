import assert from "node:assert/strict";
import { tokenize } from "../shared/tokenize.ts";
import { smallVocab } from "../shared/testing.ts";
import { closeTokenizer, OFF_THREAD_CHARS, tokenizeText } from "./tokenize_off.ts";

Deno.test("tokenizeText() gives tokenize()'s tokens, long texts from its worker", async () => {
  const vocab = smallVocab();
  const known = (w: string) => vocab.index.has(w);
  const line = "The U.S. company's profit rose 3.5% , it said.\nIt didn't say why ";
  const long = line.repeat(Math.ceil(OFF_THREAD_CHARS / line.length) + 1);
  try {
    for (const lines of [false, true]) {
      for (const text of [line, long, ""]) {
        assert.deepEqual(await tokenizeText(vocab, text, lines), tokenize(text, { known, lines }));
      }
    }
    // Requests answered in order, a second vocabulary kept apart.
    const other = smallVocab(20);
    const [a, b] = await Promise.all([tokenizeText(vocab, long), tokenizeText(other, long)]);
    assert.deepEqual(a, tokenize(long, { known }));
    assert.deepEqual(b, tokenize(long, { known: (w) => other.index.has(w) }));
  } finally {
    closeTokenizer();
  }
});
