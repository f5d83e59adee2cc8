/** The models a server holds: each loaded once, with its decoder, engine and public card. */
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { ModelConfig } from "../shared/config.ts";
import {
  fileLoader,
  type LoadedModel,
  loadModel,
  MAX_WEIGHTS_BYTES,
  type ModelFile,
} from "../shared/model_format.ts";
import type { Params } from "../shared/model.ts";
import type { Vocab } from "../shared/vocab.ts";
import { createDecoder } from "./decoder.ts";
import { createEngine, type Engine, type EngineOptions } from "./engine.ts";
import type { ScoreHelper } from "./score_helper.ts";

export interface ModelCard {
  id: string;
  object: "model";
  created: number;
  owned_by: "rotor";
  architecture: ModelConfig;
  parameters: number;
  size_bytes: number;
  vocab_size: number;
  valid_ppl: number | null;
  test_ppl: number | null;
  provenance: Record<string, unknown>;
  /** Set for a model trained with its state reset every this many tokens. */
  state_reset_every?: number;
}

export interface ServedModel {
  name: string;
  config: ModelConfig;
  params: Params;
  vocab: Vocab;
  engine: Engine;
  card: ModelCard;
  /** Tokens after which the state restarts from zero, for a model trained that way. */
  stateResetEvery?: number;
  /** Workers that score long texts (set by the server's startup; none in tests). */
  scorers?: ScoreHelper[];
  /** For a model loaded from a folder: the files model.json names, which /models/ serves. */
  folder?: ModelFolder;
}

export interface ModelFolder {
  /** model.json and the vocabulary and weights files it names. */
  files: string[];
  read(file: string): Promise<Uint8Array>;
}

/** The files of the model folder at `dir` that `meta` names, read through the folder's loader. */
export function modelFolder(dir: string, meta: ModelFile): ModelFolder {
  const loader = fileLoader(dir);
  return {
    files: ["model.json", meta.vocab.file, meta.weights.file],
    read: (file) => loader.read(file, file, MAX_WEIGHTS_BYTES),
  };
}

export function serveModel(name: string, m: LoadedModel, engine: EngineOptions): ServedModel {
  const decoder = createDecoder(m.params, m.config);
  const parameters = Object.values(m.params).reduce((n, t) => n + t.size, 0);
  return {
    name,
    config: m.config,
    params: m.params,
    vocab: m.vocab,
    ...(m.meta.stateResetEvery ? { stateResetEvery: m.meta.stateResetEvery } : {}),
    engine: createEngine(m.params, decoder, engine),
    card: {
      id: name,
      object: "model",
      created: Math.floor(Date.now() / 1000),
      owned_by: "rotor",
      architecture: m.config,
      parameters,
      size_bytes: m.meta.weights.bytes,
      vocab_size: m.config.vocabSize,
      valid_ppl: m.meta.metrics.valid_ppl ?? null,
      test_ppl: m.meta.metrics.test_ppl ?? null,
      provenance: m.meta.provenance,
      ...(m.meta.stateResetEvery ? { state_reset_every: m.meta.stateResetEvery } : {}),
    },
  };
}

/** Model folders (those holding a model.json) directly under `dir`, by folder name. */
export async function findModelDirs(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const path = join(dir, name);
    try {
      if ((await stat(join(path, "model.json"))).isFile()) out.set(name, path);
    } catch {
      // not a model folder
    }
  }
  return out;
}

/** A model's name from its folder or URL: the last path segment. */
export function modelName(location: string): string {
  const path = /^https?:\/\//.test(location) ? new URL(location).pathname : location;
  return basename(path.replace(/\/+$/, "")) || "model";
}

/** A model that could not be loaded, and why (listed by /health and /v1/models). */
export interface ModelFailure {
  name: string;
  error: string;
}

/**
 * `message` with the model's location (a folder path or URL, which says how the server's disk is
 * laid out) replaced by its name, and any other absolute path cut to its last two segments.
 */
export function withoutLocation(message: string, location: string, name: string): string {
  const at = location.replace(/\/+$/, "");
  return message.split(at).join(name).replace(
    /(^|[\s"'(])\/(?:[^\s"'/]+\/)*([^\s"'/]+\/[^\s"'/]+)/g,
    "$1…/$2",
  );
}

/** Load every named location (folder or http(s) URL) and wrap it for serving. */
export async function loadModels(
  locations: Map<string, string>,
  engine: EngineOptions,
): Promise<Map<string, ServedModel>> {
  const { models, failures } = await loadModelsSkipping(locations, engine);
  if (failures.length > 0) throw new Error(`Model "${failures[0]!.name}": ${failures[0]!.error}`);
  return models;
}

/**
 * Load every location it can: a bad one (unreadable, corrupt, naming files outside its folder)
 * is skipped with one log line naming it and the problem, and the others are served.
 */
export async function loadModelsSkipping(
  locations: Map<string, string>,
  engine: EngineOptions,
  log: (line: string) => void = () => {},
): Promise<{ models: Map<string, ServedModel>; failures: ModelFailure[] }> {
  const models = new Map<string, ServedModel>();
  const failures: ModelFailure[] = [];
  for (const [name, location] of locations) {
    try {
      const loaded = await loadModel(location);
      const model = serveModel(name, loaded, engine);
      if (!/^https?:\/\//.test(location)) model.folder = modelFolder(location, loaded.meta);
      models.set(name, model);
    } catch (err) {
      const message = (err as Error).message;
      log(`model ${name} skipped: ${message.slice(0, 300)}`);
      // What clients see (/health, /v1/models) names the folder, not where it lies.
      failures.push({ name, error: withoutLocation(message, location, name).slice(0, 300) });
    }
  }
  return { models, failures };
}
