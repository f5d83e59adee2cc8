/**
 * A model is a folder: model.json (shared/model_read.ts's schema), weights.bin
 * (tf.io.encodeWeights, float32, in manifest order) and vocab.txt (one word per line; line
 * number = id). docs/model-format.md describes it for reimplementation in other languages.
 *
 * This module is the disk side, for Deno and Bun: loading a folder by path (or URL), saving one.
 * Everything that reads a model without a file system is in shared/model_read.ts, re-exported
 * here so that Deno/Bun code has one place to import from.
 */
import { mkdir, readFile, realpath, rename, stat, writeFile } from "node:fs/promises";
import { join, sep } from "node:path";
import { tf } from "./tf.ts";
import type { ModelConfig } from "./config.ts";
import { hfTokenizer, hfTokenizerConfig } from "./hf_tokenizer.ts";
import { type Params, paramShapes } from "./model.ts";
import {
  fetchLoader,
  fileUrlUnder,
  FORMAT,
  FORMAT_VERSION,
  type LoadedModel,
  loadModelFrom,
  type ModelFile,
  type ModelLoader,
  plainFileName,
  sha256Hex,
} from "./model_read.ts";
import type { Vocab } from "./vocab.ts";
import { vocabToText } from "./vocab.ts";

export * from "./model_read.ts";

/** Write a file atomically: a temporary name, then rename. */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Write tokenizer.json and tokenizer_config.json (shared/hf_tokenizer.ts) into a model folder. */
export async function writeHfTokenizer(dir: string, vocab: Vocab): Promise<void> {
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(hfTokenizer(vocab)) + "\n");
  await writeFile(
    join(dir, "tokenizer_config.json"),
    JSON.stringify(hfTokenizerConfig(), null, 2) + "\n",
  );
}

/** Serialise parameters in paramShapes order (checked against the config). */
export async function encodeParams(cfg: ModelConfig, params: Params) {
  const shapes = paramShapes(cfg);
  const named = Object.keys(shapes).map((name) => {
    const t = params[name];
    if (!t) throw new Error(`Parameter "${name}" is missing`);
    if (t.shape.join(",") !== shapes[name]!.join(",")) {
      throw new Error(`Parameter "${name}" has shape [${t.shape}], config wants [${shapes[name]}]`);
    }
    return { name, tensor: t };
  });
  const { data, specs } = await tf.io.encodeWeights(named);
  return { bytes: new Uint8Array(data), specs };
}

export async function saveModel(
  dir: string,
  m: {
    config: ModelConfig;
    params: Params;
    vocab: Vocab;
    provenance?: Record<string, unknown>;
    metrics?: Record<string, number>;
    stateResetEvery?: number;
  },
): Promise<ModelFile> {
  await mkdir(dir, { recursive: true });
  const { bytes, specs } = await encodeParams(m.config, m.params);
  const vocabText = new TextEncoder().encode(vocabToText(m.vocab));
  if (m.vocab.words.length !== m.config.vocabSize) {
    throw new Error(
      `Vocabulary has ${m.vocab.words.length} words, config says ${m.config.vocabSize}`,
    );
  }
  const meta: ModelFile = {
    format: FORMAT,
    version: FORMAT_VERSION,
    config: m.config,
    vocab: { file: "vocab.txt", size: m.vocab.words.length, sha256: await sha256Hex(vocabText) },
    weights: {
      file: "weights.bin",
      sha256: await sha256Hex(bytes),
      bytes: bytes.length,
      manifest: specs.map((s) => ({ name: s.name, shape: s.shape, dtype: "float32" as const })),
    },
    provenance: m.provenance ?? {},
    metrics: m.metrics ?? {},
    ...(m.stateResetEvery ? { stateResetEvery: m.stateResetEvery } : {}),
  };
  await writeAtomic(join(dir, "weights.bin"), bytes);
  await writeAtomic(join(dir, "vocab.txt"), vocabText);
  await writeHfTokenizer(dir, m.vocab);
  await writeAtomic(join(dir, "model.json"), JSON.stringify(meta, null, 2) + "\n");
  return meta;
}

/**
 * Where a file that model.json names lies, or an error saying why it is refused: a local name
 * must be a plain file name in the folder, a remote one must resolve under the model's URL.
 */
export function modelFilePath(base: string, file: string, field: string): string {
  if (/^https?:\/\//.test(base)) return fileUrlUnder(base, file, field);
  return join(base, plainFileName(file, field));
}

/** A model folder on disk. */
export function fileLoader(dir: string): ModelLoader {
  return {
    where: dir.replace(/\/$/, ""),
    async read(file, field, maxBytes) {
      const path = join(dir, plainFileName(file, field));
      try {
        // A link in the folder (an unpacked archive can hold one) must not lead out of it.
        const [real, folder] = await Promise.all([realpath(path), realpath(dir)]);
        if (!real.startsWith(folder + sep)) {
          throw new Error(`"${field}" "${file}" is a link to "${real}", outside the model folder`);
        }
        const { size } = await stat(real);
        if (size > maxBytes) throw new Error(`${size} bytes, more than the limit of ${maxBytes}`);
        return await readFile(real);
      } catch (err) {
        throw new Error(`Cannot read "${path}": ${(err as Error).message}`);
      }
    },
  };
}

/** Load a model folder (path or http(s) URL), checking hashes, names, shapes and dtypes. */
export function loadModel(base: string): Promise<LoadedModel> {
  return loadModelFrom(/^https?:\/\//.test(base) ? fetchLoader(base) : fileLoader(base));
}
