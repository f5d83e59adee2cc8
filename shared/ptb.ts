/**
 * Penn Treebank (Mikolov's language-modelling split): load, verify, batchify.
 * The data is never part of the repository: it is read from `--data`, `PTB_DIR`, or `data/ptb/`.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tokenize } from "./tokenize.ts";
import { buildVocab, encode, type Vocab } from "./vocab.ts";

export const PTB_SPLITS = ["train", "valid", "test"] as const;
export type PtbSplit = (typeof PTB_SPLITS)[number];

/** The MD5s published with the data set. */
export const PTB_MD5: Record<PtbSplit, string> = {
  train: "f26c4b92c5fdc7b3f8c7cdcb991d8420",
  valid: "aa0affc06ff7c36e977d7cd49e3839bf",
  test: "8b80168b89c18661a38ef683c0dc3721",
};

export function ptbDir(flag?: string): string {
  return flag ?? process.env.PTB_DIR ?? "data/ptb";
}

/** MD5 as hex, and the file's name for errors. */
export function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

/** Read one split's text, refusing a file whose MD5 differs from the published one. */
export async function readPtbSplit(dir: string, split: PtbSplit): Promise<string> {
  const path = join(dir, `ptb.${split}.txt`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(
      `Cannot read PTB file "${path}" (${(err as Error).message}); pass --data DIR or set PTB_DIR`,
    );
  }
  const md5 = md5Hex(bytes);
  if (md5 !== PTB_MD5[split]) {
    throw new Error(
      `PTB file "${path}" has MD5 ${md5}, expected ${PTB_MD5[split]}: corrupt or not PTB`,
    );
  }
  return new TextDecoder().decode(bytes);
}

/** PTB text → tokens, one `<eos>` per line. */
export function ptbTokens(text: string): string[] {
  return tokenize(text, { lines: true, known: () => true });
}

export interface Ptb {
  vocab: Vocab;
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
  md5: Record<PtbSplit, string>;
}

/** All three splits as id streams, with the 10,000-word vocabulary built from train. */
export async function loadPtb(dir: string): Promise<Ptb> {
  const [train, valid, test] = await Promise.all(PTB_SPLITS.map((s) => readPtbSplit(dir, s)));
  const trainTokens = ptbTokens(train!);
  const vocab = buildVocab(trainTokens);
  const ids = (text: string) => encode(vocab, ptbTokens(text)).ids;
  return {
    vocab,
    train: encode(vocab, trainTokens).ids,
    valid: ids(valid!),
    test: ids(test!),
    md5: PTB_MD5,
  };
}

/**
 * Lay a token stream out as B contiguous columns, the usual PTB batch layout:
 *
 *   stream: a b c d e f g h i j k l    B = 3, n = 4
 *   row 0:  a b c d      each row continues its own slice of the stream, so the hidden
 *   row 1:  e f g h      state carries from one window [:, i:i+T] to the next
 *   row 2:  i j k l
 *
 * Returns data [B, n] row-major, n = floor(len / B); the tail is dropped.
 */
export function batchify(
  stream: Int32Array,
  batch: number,
): { data: Int32Array; batch: number; n: number } {
  const n = Math.floor(stream.length / batch);
  if (n < 2) {
    throw new Error(`A stream of ${stream.length} tokens is too short for batch size ${batch}`);
  }
  return { data: stream.slice(0, n * batch), batch, n };
}

/** The window starting at column i: inputs x = data[:, i:i+len], targets y = data[:, i+1:i+1+len]. */
export function window(
  b: { data: Int32Array; batch: number; n: number },
  i: number,
  bptt: number,
): { x: Int32Array; y: Int32Array; len: number } {
  const len = Math.min(bptt, b.n - 1 - i);
  const x = new Int32Array(b.batch * len), y = new Int32Array(b.batch * len);
  for (let r = 0; r < b.batch; r++) {
    const row = b.data.subarray(r * b.n, (r + 1) * b.n);
    x.set(row.subarray(i, i + len), r * len);
    y.set(row.subarray(i + 1, i + 1 + len), r * len);
  }
  return { x, y, len };
}

/** What a test run without PTB says: the folder looked in, and the setting the README names. */
export function ptbMissingMessage(dir: string): string {
  return `PTB data not found in "${dir}": set PTB_DIR to the PTB folder ` +
    "(PTB_DIR=../shared/data/ptb beside a checkout, as CI does) to run the PTB tests";
}

/**
 * Skip (or fail, under ROTOR_REQUIRE_PTB=1) when PTB is absent. Returns the directory or
 * undefined; tests call this and return early on undefined.
 */
export async function ptbForTests(): Promise<string | undefined> {
  const dir = ptbDir();
  try {
    await readFile(join(dir, "ptb.valid.txt"));
    return dir;
  } catch {
    const msg = ptbMissingMessage(dir);
    if (process.env.ROTOR_REQUIRE_PTB === "1") throw new Error(`${msg} (ROTOR_REQUIRE_PTB=1)`);
    console.warn(`\n*** SKIPPED: ${msg} ***\n`);
    return undefined;
  }
}
