/** A word vocabulary: ids are positions in `words`. `<unk>` and `<eos>` are always present. */
export const UNK = "<unk>";
export const EOS = "<eos>";

export interface Vocab {
  words: readonly string[];
  index: ReadonlyMap<string, number>;
  unk: number;
  eos: number;
}

export function makeVocab(words: readonly string[]): Vocab {
  const index = new Map<string, number>();
  for (const [i, w] of words.entries()) {
    if (w.length === 0 || /\s/.test(w)) {
      throw new Error(`Vocabulary entry ${i} "${w}" is empty or has spaces`);
    }
    if (index.has(w)) {
      throw new Error(`Vocabulary has "${w}" twice (entries ${index.get(w)} and ${i})`);
    }
    index.set(w, i);
  }
  const unk = index.get(UNK), eos = index.get(EOS);
  if (unk === undefined || eos === undefined) {
    throw new Error(`Vocabulary must contain "${UNK}" and "${EOS}"`);
  }
  return { words, index, unk, eos };
}

/** Vocabulary from a token stream, ids in order of first appearance (as common PTB loaders do). */
export function buildVocab(tokens: Iterable<string>): Vocab {
  const seen = new Set<string>();
  for (const t of tokens) seen.add(t);
  seen.add(UNK);
  seen.add(EOS);
  return makeVocab([...seen]);
}

/** Word ids for tokens, with out-of-vocabulary words mapped to `<unk>` and counted. */
export function encode(vocab: Vocab, tokens: readonly string[]): { ids: Int32Array; oov: number } {
  const ids = new Int32Array(tokens.length);
  let oov = 0;
  for (const [i, t] of tokens.entries()) {
    const id = vocab.index.get(t);
    if (id === undefined) oov++;
    ids[i] = id ?? vocab.unk;
  }
  return { ids, oov };
}

export function decode(vocab: Vocab, ids: ArrayLike<number>): string[] {
  return Array.from(ids, (id) => {
    const w = vocab.words[id];
    if (w === undefined) {
      throw new Error(`Token id "${id}" is outside the vocabulary of ${vocab.words.length}`);
    }
    return w;
  });
}

/** vocab.txt: one word per line, line number = id. */
export function vocabToText(vocab: Vocab): string {
  return vocab.words.join("\n") + "\n";
}

export function vocabFromText(text: string): Vocab {
  const words = text.split("\n");
  if (words.at(-1) === "") words.pop();
  return makeVocab(words);
}
