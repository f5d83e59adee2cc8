/**
 * Scoring long texts off the main thread's single core. A helper is a worker with its own wasm
 * backend and a copy of the model; `scoreShared` uses
 * - two one-thread helpers (the default): each scores half of a stream's columns, so
 *   /v1/perplexity uses both cores with every op (the recurrence's small ones too) in parallel,
 *   and this thread stays free to generate;
 * - one helper on a two-thread wasm pool (shared/wasm_threads.ts): it scores whole streams,
 *   only the matrix products running on both threads;
 * - one one-thread helper: it scores some columns while this thread scores the rest.
 * A worker starts with the first long text and stops after `idleMs` without one, so an idle
 * server does not hold more copies of the model.
 */
import type { ModelConfig } from "../shared/config.ts";
import { tf } from "../shared/tf.ts";
import type { Params } from "../shared/model.ts";
import { inBlocks, sliceMs, yieldTask } from "./yield.ts";
import {
  columnCount,
  type Score,
  scoredRange,
  type ScoreOptions,
  scoreStreamYielding,
} from "../shared/perplexity.ts";

export type ScoreRequest =
  | {
    type: "init";
    config: ModelConfig;
    /** Threads of the worker's wasm backend. */
    threads: number;
    shapes: Record<string, number[]>;
    values: Record<string, Float32Array>;
  }
  | { type: "score"; stream: Int32Array; opts: ScoreOptions };

export type ScoreReply =
  | { type: "ok"; nice: number | null }
  | { type: "scored"; nll: number; tokens: number; ms: number; logprobs?: Float32Array }
  | { type: "error"; message: string };

export type Scored = Score & { logprobs?: Float32Array };

/** The columns' work the worker takes at first; `observe` then follows the measured speeds. */
const INITIAL_SHARE = 0.4;

export interface ScoreHelper {
  /** The worker's wasm threads: above 1 it scores whole streams (`share()` is 1). */
  readonly threads: number;
  /** Score `opts.columns` of `stream` in the worker; `ms` is the worker's own compute time. */
  score(stream: Int32Array, opts: ScoreOptions): Promise<Scored & { ms: number }>;
  /**
   * The fraction of a stream's columns to give the worker. Both threads should finish
   * together, but a worker thread has run 1.3–2.3× slower than the main one here (two
   * busy cores share this machine's memory bandwidth unevenly), so a fixed half would leave
   * the main thread idle.
   */
  share(): number;
  /** Record how fast each side scored its columns, to set the next share. */
  observe(local: { columns: number; ms: number }, remote: { columns: number; ms: number }): void;
  /** Whether the worker is running now (started and not yet stopped for idleness). */
  running(): boolean;
  /** The worker thread's nice value once it has started (null where unknown; thread_priority.ts). */
  nice(): number | null | undefined;
  close(): void;
}

export function createScoreHelper(
  config: ModelConfig,
  params: Params,
  idleMs = 60_000,
  threads = 1,
): ScoreHelper {
  let worker: Worker | undefined;
  let ready: Promise<Worker> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let idle: ReturnType<typeof setTimeout> | undefined;
  let share = INITIAL_SHARE;
  let nice: number | null | undefined;

  const ask = (w: Worker, m: ScoreRequest, transfer: Transferable[] = []) =>
    new Promise<ScoreReply>((resolve, reject) => {
      w.onmessage = (e: MessageEvent<ScoreReply>) =>
        e.data.type === "error"
          ? reject(new Error(`score worker: ${e.data.message}`))
          : resolve(e.data);
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`score worker failed: ${e.message}`));
      };
      w.postMessage(m, transfer);
    });

  let generation = 0;
  const stop = () => {
    generation++;
    worker?.terminate();
    worker = ready = undefined;
    if (idle !== undefined) clearTimeout(idle);
    idle = undefined;
  };

  const start = (): Promise<Worker> => {
    if (!ready) {
      const gen = generation;
      ready = (async () => {
        const w = await newWorker();
        if (gen !== generation) {
          w.terminate();
          throw new Error("score worker stopped while it started");
        }
        worker = w;
        // The model's weights go to the worker read in pieces, one per event-loop turn, and
        // moved rather than cloned: read and cloned at once, a 256-unit PTB model's 12 MB held
        // this thread for ~100 ms per worker (fresh pages fault in at ~250 MB/s), a stall every
        // stream and /health felt when the workers started.
        const shapes: Record<string, number[]> = {};
        const values: Record<string, Float32Array> = {};
        for (const [k, t] of Object.entries(params)) {
          shapes[k] = t.shape;
          values[k] = await readInPieces(t);
        }
        const buffers = Object.values(values).map((v) => v.buffer as ArrayBuffer);
        const r = await ask(w, { type: "init", config, threads, shapes, values }, buffers);
        if (r.type === "ok") nice = r.nice;
        return w;
      })();
    }
    return ready;
  };

  return {
    score(stream, opts) {
      const job = queue.then(async () => {
        if (idle !== undefined) clearTimeout(idle);
        try {
          const w = await start();
          const r = await ask(w, { type: "score", stream, opts });
          if (r.type !== "scored") throw new Error(`score worker answered "${r.type}"`);
          return {
            nll: r.nll,
            tokens: r.tokens,
            perplexity: Math.exp(r.nll / r.tokens),
            ms: r.ms,
            logprobs: r.logprobs,
          };
        } catch (err) {
          stop(); // a failed worker is not reused; the next long text starts a fresh one
          throw err;
        } finally {
          if (worker) idle = setTimeout(stop, idleMs);
        }
      });
      queue = job.catch(() => {});
      return job;
    },
    threads,
    running: () => worker !== undefined,
    nice: () => nice,
    close: stop,
    share: () => (threads > 1 ? 1 : share),
    observe(local, remote) {
      const l = local.columns / local.ms, r = remote.columns / remote.ms;
      if (!(l > 0 && r > 0 && Number.isFinite(l + r))) return;
      // Halfway to the share that would have finished both together: one odd request
      // (a busy machine) does not swing it far.
      share = Math.min(0.5, Math.max(0.1, (share + r / (l + r)) / 2));
    },
  };
}

let constructing: Promise<unknown> = Promise.resolve();

/**
 * A new score worker, constructed in a timer turn of its own: the constructor holds this thread
 * ~30 ms on Deno, and the helpers of one request, started together, would stack theirs.
 */
function newWorker(): Promise<Worker> {
  const made = constructing.then(async () => {
    await new Promise((r) => setTimeout(r, 0));
    return new Worker(new URL("./score_worker.ts", import.meta.url).href, { type: "module" });
  });
  constructing = made.catch(() => {});
  return made;
}

/** Elements read per event-loop turn: 1 MB of float32, a few milliseconds. */
const READ_PIECE = 1 << 18;

/** A tensor's values in an array of our own, read a piece per event-loop turn. */
export async function readInPieces(t: tf.Tensor, piece = READ_PIECE): Promise<Float32Array> {
  const out = new Float32Array(t.size);
  const flat = t.reshape([t.size]);
  try {
    for (let at = 0; at < t.size; at += piece) {
      const part = flat.slice(at, Math.min(piece, t.size - at));
      out.set(part.dataSync() as Float32Array, at);
      part.dispose();
      await yieldTask();
    }
  } finally {
    flat.dispose();
  }
  return out;
}

/** Score on this thread, in blocks that let the other requests in (see yield.ts). */
function scoreHere(
  params: Params,
  config: ModelConfig,
  stream: Int32Array,
  opts: ScoreOptions,
  signal?: AbortSignal,
) {
  return inBlocks(
    () => scoreStreamYielding(params, config, stream, opts, sliceMs),
    signal,
  );
}

/** Score `opts.columns` of `stream` on `helper`, or here if the helper fails. */
async function scoreOn(
  helper: ScoreHelper,
  config: ModelConfig,
  params: Params,
  stream: Int32Array,
  opts: ScoreOptions,
): Promise<Scored & { ms?: number }> {
  try {
    return await helper.score(stream, opts);
  } catch (err) {
    console.error(`${(err as Error).message}; scoring those columns in this thread`);
    return scoreHere(params, config, stream, opts);
  }
}

/** Add up the parts' scores; their logprobs go to the targets each part covered. */
function combine(targets: number, parts: { scored: Scored; opts: ScoreOptions }[]): Scored {
  const nll = parts.reduce((n, p) => n + p.scored.nll, 0);
  const tokens = parts.reduce((n, p) => n + p.scored.tokens, 0);
  let logprobs: Float32Array | undefined;
  if (parts.every((p) => p.scored.logprobs)) {
    logprobs = new Float32Array(targets);
    for (const { scored, opts } of parts) {
      const [from, to] = scoredRange(targets, opts);
      logprobs.set(scored.logprobs!.subarray(from, to), from);
    }
  }
  return { nll, tokens, perplexity: Math.exp(nll / tokens), ...(logprobs ? { logprobs } : {}) };
}

/**
 * Score a stream with the helpers' help when any are given and the stream has several columns:
 * - several helpers split the columns evenly (the last takes the tail), this thread stays free;
 * - one pooled helper (threads > 1) scores all of it;
 * - one one-thread helper takes the last columns (and the tail), as many as its `share`, and
 *   this thread the first ones.
 * The parts add up to exactly the one-thread score. A helper that fails has its columns
 * scored here.
 */
export async function scoreShared(
  config: ModelConfig,
  params: Params,
  stream: Int32Array,
  opts: ScoreOptions,
  helpers: readonly ScoreHelper[] = [],
  signal?: AbortSignal,
): Promise<Scored> {
  const targets = stream.length - 1;
  const cols = columnCount(targets, opts.batch);
  if (helpers.length === 0 || cols < 2) return scoreHere(params, config, stream, opts, signal);
  if (helpers.length > 1) {
    const k = Math.min(helpers.length, cols);
    const parts = helpers.slice(0, k).map((h, i) => {
      const part: ScoreOptions = {
        ...opts,
        columns: [Math.round((i * cols) / k), Math.round(((i + 1) * cols) / k)],
      };
      return scoreOn(h, config, params, stream, part).then((scored) => ({ scored, opts: part }));
    });
    return combine(targets, await Promise.all(parts));
  }
  const helper = helpers[0]!;
  if (helper.threads > 1) {
    const { ms: _, ...whole } = await scoreOn(helper, config, params, stream, opts);
    return whole;
  }
  const theirCols = Math.min(cols - 1, Math.max(1, Math.round(cols * helper.share())));
  const mine = cols - theirCols;
  const theirs: ScoreOptions = { ...opts, columns: [mine, cols] };
  const ours: ScoreOptions = { ...opts, columns: [0, mine] };
  const remote = scoreOn(helper, config, params, stream, theirs);
  const t0 = performance.now();
  const local = await scoreHere(params, config, stream, ours, signal);
  const localMs = performance.now() - t0;
  const other = await remote;
  if (other.ms !== undefined) {
    helper.observe({ columns: mine, ms: localMs }, { columns: theirCols, ms: other.ms });
  }
  return combine(targets, [{ scored: local, opts: ours }, { scored: other, opts: theirs }]);
}
