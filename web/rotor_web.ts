/**
 * rotor in a browser tab: a model folder downloaded once and kept in the Cache API, then
 * generated from and scored on the wasm backend in the page, with the server's own code:
 * the batched engine and `generate` (server/engine.ts, server/generation.ts) and the
 * perplexity route's `scoreTokens`, so a fixed seed gives the Deno server's tokens.
 *
 * @example
 * const rotor = await openModel("/models/ptb-ugru/");
 * await rotor.generate({ prompt: "the company said", maxTokens: 20, seed: 7 }, console.log);
 */
import { createDecoder } from "../server/decoder.ts";
import { createEngine } from "../server/engine.ts";
import { generate, type TokenEvent } from "../server/generation.ts";
import type { ServedModel } from "../server/models.ts";
import { scoreTokens } from "../server/routes/perplexity.ts";
import {
  fetchLoader,
  fileUrlUnder,
  loadModelFrom,
  MAX_MODEL_JSON_BYTES,
  MAX_VOCAB_BYTES,
  MAX_WEIGHTS_BYTES,
  type ModelLoader,
} from "../shared/model_read.ts";
import { tokenize } from "../shared/tokenize.ts";
import { startWasm } from "../shared/wasm_backend.ts";
import { probeAdapter, startWebGpu } from "../shared/webgpu.ts";

/** The Cache API cache the model files are kept in. */
export const CACHE = "rotor-models-v1";

export interface GenerateRequest {
  prompt: string;
  maxTokens: number;
  maxSentences?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed: number;
}

/** "auto": WebGPU where `navigator.gpu` gives a hardware adapter, wasm otherwise. */
export type WebBackend = "auto" | "wasm" | "webgpu";

export interface OpenedModel {
  name: string;
  /** The tfjs backend the model runs on: "webgpu" or "wasm". */
  backend: string;
  /** Whether every file came from the cache (no download). */
  cached: boolean;
  /** Milliseconds from openModel's call to the model ready to generate. */
  loadMs: number;
  /**
   * Where loadMs went: the backend started and the files read (both from openModel's call,
   * side by side), then the model checked (hashes, values) and built on the backend.
   */
  phases: { backendMs: number; filesMs: number; buildMs: number };
  generate(
    req: GenerateRequest,
    onToken: (t: TokenEvent) => void,
  ): Promise<{ text: string; tokens: number; firstTokenMs: number; tokensPerS: number }>;
  score(text: string): Promise<{ perplexity: number; nll: number; tokens: number }>;
}

/**
 * fetch through the Cache API: a hit is read from the cache (and its URL added to `hits`), a
 * miss downloaded and kept.
 */
function cachedFetch(misses: string[], hits: Set<string>) {
  return async (url: string): Promise<Response> => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(url);
    if (hit) {
      hits.add(url);
      return hit;
    }
    misses.push(url);
    const res = await fetch(url);
    if (res.ok) await cache.put(url, res.clone());
    return res;
  };
}

/**
 * The localStorage key prefix that records, for a cached file's URL, the sha256 its cached bytes
 * were verified against. A load that reads that file from the cache again, for the same hash,
 * skips hashing it (~70-110 ms for 12 MB of weights on a loaded machine) and the finite-values
 * scan: only this page writes the cache, and only after it has written a file does it check it.
 */
const VERIFIED = "rotor-verified:";

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // an opaque origin, or storage turned off
  }
}

let backend: Promise<string> | undefined;

/**
 * `loader` with every file of the folder requested at once: model.json, then the vocabulary
 * and the weights together. `done` settles when all are read (or one failed: loadModelFrom
 * then asks for it again and says what is wrong).
 */
function readAhead(loader: ModelLoader): { loader: ModelLoader; done: Promise<unknown> } {
  const reads = new Map<string, Promise<Uint8Array>>();
  const read = (file: string, field: string, maxBytes: number) => {
    let r = reads.get(file);
    if (!r) reads.set(file, r = loader.read(file, field, maxBytes));
    return r;
  };
  const done = read("model.json", "model.json", MAX_MODEL_JSON_BYTES).then((bytes) => {
    const meta = JSON.parse(new TextDecoder().decode(bytes));
    return Promise.all([
      read(meta.vocab.file, "vocab.file", MAX_VOCAB_BYTES),
      read(meta.weights.file, "weights.file", Math.min(meta.weights.bytes, MAX_WEIGHTS_BYTES)),
    ]);
  }).catch(() => {
    reads.clear();
  });
  return { loader: { where: loader.where, read }, done };
}

/**
 * Start the tab's one backend. A software adapter (SwiftShader, llvmpipe) runs WebGPU's shaders
 * on the CPU, slower than wasm, so "auto" takes only a hardware one. The webgpu backend is its
 * own chunk of the bundle, fetched only when it is used.
 */
async function startBackend(want: WebBackend): Promise<string> {
  if (want !== "wasm") {
    const probe = await probeAdapter();
    if (probe.ok && (!probe.adapter.software || want === "webgpu")) {
      await startWebGpu();
      return "webgpu";
    }
    if (!probe.ok && want === "webgpu") throw new Error(`WebGPU is not available: ${probe.reason}`);
  }
  // The .wasm files lie beside this script (web/build.ts copies them).
  await startWasm({ wasmPaths: new URL("./", import.meta.url).href });
  return "wasm";
}

/**
 * Load the model folder at `url` (relative to the page), from the cache where it is there. The
 * tab's backend is chosen by the first call; later calls share it.
 */
export async function openModel(url: string, want: WebBackend = "auto"): Promise<OpenedModel> {
  const t0 = performance.now();
  const base = new URL(url, location.href).href;
  const misses: string[] = [];
  const hits = new Set<string>();
  // The files are read (from the cache, or downloaded) while the backend starts: neither
  // needs the other until the weights become tensors.
  const files = readAhead(fetchLoader(base, cachedFetch(misses, hits)));
  const since = (t: number) => () => performance.now() - t;
  const started = backend ??= startBackend(want);
  const [backendName, backendMs, filesMs] = await Promise.all([
    started,
    started.then(since(t0)),
    files.done.then(since(t0)),
  ]);
  const t1 = performance.now();
  const fileUrl = (file: string) => fileUrlUnder(base, file, "file");
  const loaded = await loadModelFrom(files.loader, {
    verified: (file, sha) =>
      hits.has(fileUrl(file)) && storage()?.getItem(VERIFIED + fileUrl(file)) === sha,
  });
  // Both files are in the cache now, and checked.
  for (const f of [loaded.meta.vocab, loaded.meta.weights]) {
    storage()?.setItem(VERIFIED + fileUrl(f.file), f.sha256);
  }
  const name = base.replace(/\/+$/, "").split("/").at(-1) ?? "model";
  const engine = createEngine(loaded.params, createDecoder(loaded.params, loaded.config), {
    maxActive: 8,
    maxQueue: 8,
  });
  // The fields generate() and scoreTokens() read: no card, no score workers in a tab.
  const model = {
    name,
    config: loaded.config,
    params: loaded.params,
    vocab: loaded.vocab,
    engine,
    ...(loaded.meta.stateResetEvery ? { stateResetEvery: loaded.meta.stateResetEvery } : {}),
  } as Omit<ServedModel, "card"> as ServedModel;
  return {
    name,
    backend: backendName,
    cached: misses.length === 0,
    loadMs: performance.now() - t0,
    phases: { backendMs, filesMs, buildMs: performance.now() - t1 },
    async generate(req, onToken) {
      const t = performance.now();
      let first = 0;
      const r = await generate(model, engine, {
        prompt: req.prompt,
        maxTokens: req.maxTokens,
        maxSentences: req.maxSentences,
        temperature: req.temperature ?? 1,
        topK: req.topK,
        topP: req.topP,
        seed: req.seed,
        stop: [],
      }, (ev) => {
        if (ev.type !== "token") return;
        if (first === 0) first = performance.now() - t;
        onToken(ev.data);
      });
      return {
        text: r.text,
        tokens: r.done.generated_tokens,
        firstTokenMs: first,
        tokensPerS: r.done.timings.tokens_per_s,
      };
    },
    async score(text) {
      const tokens = tokenize(text, { known: (w) => model.vocab.index.has(w) });
      const s = await scoreTokens(model, tokens, false);
      return { perplexity: s.perplexity, nll: s.nll, tokens: s.tokens };
    },
  };
}
