/**
 * A model is a folder: model.json (this schema), weights.bin (tf.io.encodeWeights, float32,
 * in manifest order) and vocab.txt (one word per line; line number = id).
 * docs/model-format.md describes it for reimplementation in other languages.
 */
import { createHash } from "node:crypto";
import { writeHfTokenizer } from "./hf_tokenizer.ts";
import { mkdir, readFile, realpath, rename, writeFile } from "node:fs/promises";
import { basename, join, sep } from "node:path";
import { z } from "zod";
import { fetchBounded } from "./model_fetch.ts";
import { tf } from "./tf.ts";
import { type ModelConfig, ModelConfigSchema } from "./config.ts";
import { type Params, paramShapes } from "./model.ts";
import { makeVocab, type Vocab, vocabFromText, vocabToText } from "./vocab.ts";

export const FORMAT = "rotor-model";
export const FORMAT_VERSION = 1;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in hex");

/** Largest `stateResetEvery`: it is the window a text is scored in, so it bounds memory. */
export const MAX_STATE_RESET_EVERY = 1000;

export const ModelFileSchema = z.object({
  format: z.literal(FORMAT),
  version: z.number().int(),
  config: ModelConfigSchema,
  vocab: z.object({ file: z.string(), size: z.number().int(), sha256: Sha256 }),
  weights: z.object({
    file: z.string(),
    sha256: Sha256,
    bytes: z.number().int().min(0).max(2 ** 31),
    manifest: z.array(z.object({
      name: z.string(),
      shape: z.array(z.number().int().min(0)),
      dtype: z.literal("float32"),
    })),
  }),
  /** How the model was made: command, data checksums, backend, hardware, wall time. */
  provenance: z.record(z.string(), z.unknown()).default({}),
  /** Measured results, e.g. { valid_ppl, test_ppl, tokens_per_s }. */
  metrics: z.record(z.string(), z.number()).default({}),
  /**
   * Set when the model was trained with its state reset every this many tokens (truncated BPTT
   * windows each from the zero state): it reads a text the same way (docs/model-format.md).
   */
  stateResetEvery: z.number().int().min(1).max(MAX_STATE_RESET_EVERY).optional(),
});
export type ModelFile = z.infer<typeof ModelFileSchema>;

export interface LoadedModel {
  config: ModelConfig;
  params: Params;
  vocab: Vocab;
  meta: ModelFile;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Write a file atomically: a temporary name, then rename. */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
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
    vocab: { file: "vocab.txt", size: m.vocab.words.length, sha256: sha256(vocabText) },
    weights: {
      file: "weights.bin",
      sha256: sha256(bytes),
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
 * model.json comes from wherever the model came from; it must not make the server read
 * `../../etc/passwd` or fetch any URL at start-up.
 */
export function modelFilePath(base: string, file: string, field: string): string {
  const shown = JSON.stringify(file.slice(0, 60));
  if (/^https?:\/\//.test(base)) {
    const prefix = base.endsWith("/") ? base : base + "/";
    let url: URL | undefined;
    try {
      url = new URL(file, prefix);
    } catch {
      // refused below
    }
    if (!url || !url.href.startsWith(prefix) || url.href === prefix || /[?#]/.test(file)) {
      throw new Error(`"${field}" ${shown} does not name a file under ${prefix}`);
    }
    return url.href;
  }
  if (
    file === "" || file === "." || file === ".." || /[/\\\0]/.test(file) || basename(file) !== file
  ) {
    throw new Error(`"${field}" ${shown} is not a plain file name inside the model folder`);
  }
  return join(base, file);
}

/** The largest model.json and vocabulary file a remote model may send. */
export const MAX_MODEL_JSON_BYTES = 1_000_000;
export const MAX_VOCAB_BYTES = 64_000_000;
/** The largest weights file model.json may declare (4 GiB of float32 would not fit in wasm). */
export const MAX_WEIGHTS_BYTES = 2 ** 31;

/**
 * Reads a file of a model folder from disk or, for http(s) URLs, over the network, where it
 * may have at most `maxBytes` (fetchBounded: no redirect out of the model's URL, a timeout).
 */
async function readPart(
  base: string,
  file: string,
  field: string,
  maxBytes: number,
): Promise<Uint8Array> {
  const path = modelFilePath(base, file, field);
  if (/^https?:\/\//.test(base)) {
    const prefix = base.endsWith("/") ? base : base + "/";
    return await fetchBounded(path, { prefix, maxBytes });
  }
  try {
    // A link in the folder (an unpacked archive can hold one) must not lead out of it either.
    const [real, folder] = await Promise.all([realpath(path), realpath(base)]);
    if (!real.startsWith(folder + sep)) {
      throw new Error(`"${field}" "${file}" is a link to "${real}", outside the model folder`);
    }
    return await readFile(path);
  } catch (err) {
    throw new Error(`Cannot read "${path}": ${(err as Error).message}`);
  }
}

/**
 * The first tensor of a weights file holding NaN or ±Infinity, as "name" [index] = value; a
 * diverged run saves such weights, and a model built on them answers nonsense with null
 * log-probabilities instead of failing. `bytes` is the file, float32 in manifest order.
 */
export function firstNonFinite(
  bytes: Uint8Array,
  manifest: readonly { name: string; shape: readonly number[] }[],
): { name: string; index: number; value: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (const spec of manifest) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i++) {
      const value = view.getFloat32(offset + 4 * i, true);
      if (!Number.isFinite(value)) return { name: spec.name, index: i, value };
    }
    offset += 4 * n;
  }
  return undefined;
}

/** Validate model.json's content and say what is wrong and where. */
export function parseModelFile(json: unknown, where: string): ModelFile {
  if (
    typeof json === "object" && json !== null && "version" in json &&
    json.version !== FORMAT_VERSION
  ) {
    throw new Error(
      `${where}: unknown format version "${json.version}" (this rotor reads version ${FORMAT_VERSION})`,
    );
  }
  const r = ModelFileSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${where}: invalid at "${i.path.join(".")}": ${i.message}`);
  }
  return r.data;
}

/** Load a model folder (path or http(s) URL), checking hashes, names, shapes and dtypes. */
export async function loadModel(base: string): Promise<LoadedModel> {
  const where = `${base.replace(/\/$/, "")}/model.json`;
  let json: unknown;
  try {
    json = JSON.parse(
      new TextDecoder().decode(
        await readPart(base, "model.json", "model.json", MAX_MODEL_JSON_BYTES),
      ),
    );
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  const meta = parseModelFile(json, where);
  const cfg = meta.config;

  const vocabBytes = await readPart(base, meta.vocab.file, "vocab.file", MAX_VOCAB_BYTES).catch(
    (err: Error) => {
      throw new Error(`${where}: ${err.message}`);
    },
  );
  if (sha256(vocabBytes) !== meta.vocab.sha256) {
    throw new Error(
      `${where}: ${meta.vocab.file}: sha256 does not match model.json (file altered or truncated)`,
    );
  }
  const vocab = vocabFromText(new TextDecoder().decode(vocabBytes));
  if (vocab.words.length !== cfg.vocabSize) {
    throw new Error(
      `${where}: ${meta.vocab.file}: ${vocab.words.length} words, config says ${cfg.vocabSize}`,
    );
  }

  const maxWeights = Math.min(meta.weights.bytes, MAX_WEIGHTS_BYTES);
  const weightsRead = readPart(base, meta.weights.file, "weights.file", maxWeights);
  const bytes = await weightsRead.catch((err: Error) => {
    throw new Error(`${where}: ${err.message}`);
  });
  if (bytes.length !== meta.weights.bytes) {
    throw new Error(
      `${where}: ${meta.weights.file}: ${bytes.length} bytes, model.json says ${meta.weights.bytes} (truncated?)`,
    );
  }
  if (sha256(bytes) !== meta.weights.sha256) {
    throw new Error(
      `${where}: ${meta.weights.file}: sha256 does not match model.json (file altered)`,
    );
  }
  const want = paramShapes(cfg);
  const manifest = new Map(meta.weights.manifest.map((s) => [s.name, s]));
  for (const [name, shape] of Object.entries(want)) {
    const spec = manifest.get(name);
    if (!spec) throw new Error(`${where}: tensor "${name}" is missing from the weights manifest`);
    if (spec.shape.join(",") !== shape.join(",")) {
      throw new Error(
        `${where}: tensor "${name}" has shape [${spec.shape}], the config needs [${shape}]`,
      );
    }
  }
  for (const name of manifest.keys()) {
    if (!(name in want)) {
      throw new Error(`${where}: unexpected tensor "${name}" for a ${cfg.cell} model`);
    }
  }
  const expected = meta.weights.manifest.reduce(
    (n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1),
    0,
  );
  if (expected !== bytes.length) {
    throw new Error(
      `${where}: ${meta.weights.file}: manifest needs ${expected} bytes, file has ${bytes.length}`,
    );
  }
  const bad = firstNonFinite(bytes, meta.weights.manifest);
  if (bad) {
    throw new Error(
      `${where}: ${meta.weights.file}: tensor "${bad.name}" holds ${bad.value} at index ${bad.index}` +
        " (non-finite weights: the run that saved them diverged)",
    );
  }
  // decodeWeights needs an ArrayBuffer of exactly the file; copy only when `bytes` is a view
  // into a larger (pooled) buffer.
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const buf = (whole ? bytes.buffer : bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength,
  )) as ArrayBuffer;
  const params = tf.io.decodeWeights(buf, meta.weights.manifest) as Params;
  return { config: cfg, params, vocab: makeVocab(vocab.words), meta };
}
