/**
 * Reading a model folder wherever JavaScript runs (Deno, Bun, workerd, a browser tab): the
 * model.json schema, and loading through a `ModelLoader`, which hands over the folder's files
 * by name. `fetchLoader` reads a folder over HTTP(S) (or any fetch-like function, such as a
 * Worker's service binding); shared/model_format.ts adds the disk for Deno and Bun. Hashes are
 * crypto.subtle's, present in every one of those runtimes.
 */
import { z } from "zod";
import { tf } from "./tf.ts";
import { type ModelConfig, ModelConfigSchema } from "./config.ts";
import { type Params, paramShapes } from "./model.ts";
import { makeVocab, type Vocab, vocabFromText } from "./vocab.ts";
import { fetchBounded } from "./model_fetch.ts";

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

/** Hex sha256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The largest model.json and vocabulary file a model may have. */
export const MAX_MODEL_JSON_BYTES = 1_000_000;
export const MAX_VOCAB_BYTES = 64_000_000;
/** The largest weights file model.json may declare (4 GiB of float32 would not fit in wasm). */
export const MAX_WEIGHTS_BYTES = 2 ** 31;

/** Hands over a model folder's files by the name model.json gives them. */
export interface ModelLoader {
  /** The folder's path or URL, for messages. */
  readonly where: string;
  /**
   * The file's bytes, refused past `maxBytes`; `field` is model.json's field that named it, for
   * the refusal.
   */
  read(file: string, field: string, maxBytes: number): Promise<Uint8Array>;
}

/**
 * A name model.json gives for a file of a local folder, or an error: a plain file name only.
 * model.json comes from wherever the model came from; it must not make the server read
 * `../../etc/passwd`.
 */
export function plainFileName(file: string, field: string): string {
  if (file === "" || file === "." || file === ".." || /[/\\\0]/.test(file)) {
    const shown = JSON.stringify(file.slice(0, 60));
    throw new Error(`"${field}" ${shown} is not a plain file name inside the model folder`);
  }
  return file;
}

/** The URL of a file model.json names under a model's URL, or an error: nothing outside it. */
export function fileUrlUnder(base: string, file: string, field: string): string {
  const prefix = base.endsWith("/") ? base : base + "/";
  let url: URL | undefined;
  try {
    url = new URL(file, prefix);
  } catch {
    // refused below
  }
  if (!url || !url.href.startsWith(prefix) || url.href === prefix || /[?#]/.test(file)) {
    const shown = JSON.stringify(file.slice(0, 60));
    throw new Error(`"${field}" ${shown} does not name a file under ${prefix}`);
  }
  return url.href;
}

/**
 * A model folder at an http(s) URL, read with `fetchFn` (default: the global fetch; a Worker
 * passes its service binding's) under fetchBounded's budgets: no redirect out of the folder's
 * URL, a size limit per file, a timeout.
 */
export function fetchLoader(
  base: string,
  fetchFn: (url: string, init: RequestInit) => Promise<Response> = (url, init) => fetch(url, init),
): ModelLoader {
  const prefix = base.endsWith("/") ? base : base + "/";
  return {
    where: base.replace(/\/$/, ""),
    read(file, field, maxBytes) {
      return fetchBounded(fileUrlUnder(base, file, field), { prefix, maxBytes, fetchFn });
    },
  };
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

export interface LoadOptions {
  /**
   * Whether the bytes `loader` hands over for `file` already passed this function's checks
   * against this `sha256` (hash, and finite weights), so they need not be hashed again: a
   * browser's cached copy that an earlier load verified. Only the loader's owner can know.
   */
  verified?: (file: string, sha256: string) => boolean;
}

/** Load a model folder through `loader`, checking hashes, names, shapes and dtypes. */
export async function loadModelFrom(
  loader: ModelLoader,
  opts: LoadOptions = {},
): Promise<LoadedModel> {
  const verified = (f: { file: string; sha256: string }) =>
    opts.verified?.(f.file, f.sha256) ?? false;
  const where = `${loader.where}/model.json`;
  let json: unknown;
  try {
    json = JSON.parse(
      new TextDecoder().decode(await loader.read("model.json", "model.json", MAX_MODEL_JSON_BYTES)),
    );
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  const meta = parseModelFile(json, where);
  const cfg = meta.config;

  const vocabBytes = await loader.read(meta.vocab.file, "vocab.file", MAX_VOCAB_BYTES).catch(
    (err: Error) => {
      throw new Error(`${where}: ${err.message}`);
    },
  );
  if (!verified(meta.vocab) && await sha256Hex(vocabBytes) !== meta.vocab.sha256) {
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
  const bytes = await loader.read(meta.weights.file, "weights.file", maxWeights).catch(
    (err: Error) => {
      throw new Error(`${where}: ${err.message}`);
    },
  );
  if (bytes.length !== meta.weights.bytes) {
    throw new Error(
      `${where}: ${meta.weights.file}: ${bytes.length} bytes, model.json says ${meta.weights.bytes} (truncated?)`,
    );
  }
  if (!verified(meta.weights) && await sha256Hex(bytes) !== meta.weights.sha256) {
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
  const bad = verified(meta.weights) ? undefined : firstNonFinite(bytes, meta.weights.manifest);
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
