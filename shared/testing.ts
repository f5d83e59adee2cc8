/** Helpers shared by the test files (imported only from *_test.ts). */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "./backend.ts";
import { tf } from "./tf.ts";
import { type ModelConfigInput, parseModelConfig } from "./config.ts";
import { initParams } from "./model.ts";
import { loadModel, saveModel } from "./model_format.ts";
import { createPrng } from "./prng.ts";
import { makeVocab } from "./vocab.ts";

let ready: Promise<unknown> | undefined;

/** Initialise the wasm backend once per test process. */
export async function useWasm(): Promise<void> {
  ready ??= initBackend("wasm");
  await ready;
  await tf.setBackend("wasm");
}

export function tempDir(prefix = "rotor-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A small vocabulary of real words, `<unk>` and `<eos>` included. */
export function smallVocab(size = 32) {
  const base = [
    "<unk>",
    "<eos>",
    "the",
    "N",
    "of",
    "to",
    "a",
    "in",
    "and",
    "'s",
    "that",
    "for",
    "is",
    "$",
    "it",
    "said",
  ];
  const words = [
    ...base,
    ...Array.from({ length: Math.max(0, size - base.length) }, (_, i) => `w${i}`),
  ].slice(0, size);
  return makeVocab(words);
}

/** Save a freshly initialised model (no training) to a temp folder. */
export async function saveSmallModel(
  cfg: Partial<ModelConfigInput> = {},
  seed = 1,
): Promise<string> {
  const vocab = smallVocab();
  const config = parseModelConfig({
    cell: "ugru",
    vocabSize: vocab.words.length,
    embedSize: 8,
    hiddenSize: 8,
    ...cfg,
  });
  const dir = await tempDir("rotor-model-");
  await saveModel(dir, {
    config,
    params: initParams(config, seed),
    vocab,
    provenance: { command: "test" },
  });
  return dir;
}

export function assertClose(actual: number, expected: number, tol: number, what = "value"): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  if (!(err <= tol)) {
    throw new Error(
      `${what}: ${actual} differs from ${expected} by relative ${err.toExponential(2)} > ${tol}`,
    );
  }
}

/** A small uGRU on the wasm backend, loaded back from disk, and a seeded random id stream. */
export async function smallModelAndStream(length: number, seed: number) {
  await useWasm();
  const model = await loadModel(await saveSmallModel({ cell: "ugru" }, 5));
  const prng = createPrng(seed);
  const stream = Int32Array.from({ length }, () => prng.int(model.config.vocabSize));
  return { m: model, stream };
}
