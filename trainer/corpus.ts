/** The training corpus: PTB (MD5-checked), or any folder with the same three files. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadPtb, PTB_SPLITS, ptbDir, ptbTokens } from "../shared/ptb.ts";
import { buildVocab, encode, type Vocab } from "../shared/vocab.ts";

export interface Corpus {
  vocab: Vocab;
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
  dir: string;
  md5?: Record<string, string>;
}

export async function loadCorpus(data: string | undefined, skipMd5: boolean): Promise<Corpus> {
  const dir = ptbDir(data);
  if (!skipMd5) {
    const p = await loadPtb(dir);
    return { ...p, dir };
  }
  const texts = await Promise.all(PTB_SPLITS.map(async (s) => {
    const path = join(dir, `ptb.${s}.txt`);
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      throw new Error(`Cannot read corpus file "${path}": ${(err as Error).message}`);
    }
  }));
  const train = ptbTokens(texts[0]!);
  const vocab = buildVocab(train);
  const ids = (t: string) => encode(vocab, ptbTokens(t)).ids;
  return {
    vocab,
    train: encode(vocab, train).ids,
    valid: ids(texts[1]!),
    test: ids(texts[2]!),
    dir,
  };
}
