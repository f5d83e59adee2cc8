/** Helpers shared by the test files (imported only from *_test.ts). */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "./backend.ts";
import { probeAdapter } from "./webgpu.ts";
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

/**
 * Start the webgpu backend for a test. Where no WebGPU adapter exists at all it says so loudly
 * and returns false (the test skips), or throws under CI=true: CI installs Mesa, whose
 * software adapter runs the GPU code path on the CPU.
 */
export async function useWebGpu(): Promise<boolean> {
  const probe = await probeAdapter();
  if (!probe.ok) {
    const msg = `No WebGPU adapter, so the webgpu tests did not run: ${probe.reason}`;
    if (process.env.CI === "true") throw new Error(`${msg} (CI=true)`);
    console.warn(`\n*** SKIPPED: ${msg} ***\n`);
    return false;
  }
  await initBackend("webgpu");
  return true;
}

/** Max |a − b| over max |a|: agreement of two computations of the same tensor. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`Lengths differ: ${a.length} and ${b.length}`);
  let err = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return err / Math.max(scale, 1e-30);
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
