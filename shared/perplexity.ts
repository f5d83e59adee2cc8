/**
 * Perplexity = exp(mean negative log-likelihood) over every target token of a stream,
 * `<eos>` included (the standard PTB convention); the first token is context only.
 */
import { readsAreSync, tf } from "./tf.ts";
import type { Tensor, Tensor1D, Tensor2D } from "./tf.ts";
import type { ModelConfig } from "./config.ts";
import {
  disposeState,
  forwardHidden,
  type ModelState,
  outputMatrix,
  type Params,
  zeroState,
} from "./model.ts";
import { tokenNll, tokenNllExact } from "./ops.ts";

export interface Score {
  /** Summed negative log-likelihood (nats). */
  nll: number;
  /** Number of target tokens scored. */
  tokens: number;
  perplexity: number;
}

export interface ScoreOptions {
  /** Parallel columns (default 10). */
  batch?: number;
  /** Steps per window (default 35). */
  bptt?: number;
  /** Called after each window with tokens scored so far. */
  onProgress?: (done: number, total: number) => void;
  /** Per-token log-probabilities of every target, in stream order. */
  perToken?: boolean;
  /**
   * Score only columns [from, to) of the `batch` columns (the tail with the last one), so two
   * threads can share a stream: their parts add up to exactly the whole stream's score.
   */
  columns?: [number, number];
  /**
   * Start every window from the zero state instead of carrying the state across windows: the
   * protocol of a model trained with its state reset at every window.
   */
  resetEachWindow?: boolean;
}

/** The targets (indices into stream[1..]) that `scoreStream` covers with `opts.columns`. */
export function scoredRange(targetsTotal: number, opts: ScoreOptions): [number, number] {
  const b = columnCount(targetsTotal, opts.batch);
  const n = Math.floor(targetsTotal / b);
  const [from, to] = opts.columns ?? [0, b];
  return [from * n, to === b ? targetsTotal : to * n];
}

/** How many columns a stream of `targetsTotal` targets is scored in, given `batch`. */
export function columnCount(targetsTotal: number, batch = 10): number {
  return Math.max(1, Math.min(batch, Math.floor(targetsTotal / 2) || 1));
}

/**
 * A computation that reads tensors back from the device: it yields each tensor whose values it
 * needs and is resumed with them. `runSync` reads with dataSync (wasm, cpu), `runAsync` with
 * `await data()` (any backend: WebGPU has no synchronous read outside a browser).
 */
export type Reads<R> = Generator<Tensor, R, Float32Array>;

export function runSync<R>(g: Reads<R>): R {
  try {
    let r = g.next();
    while (!r.done) r = g.next(r.value.dataSync() as Float32Array);
    return r.value;
  } finally {
    g.return(undefined as R); // runs the computation's own clean-up when a read threw
  }
}

export async function runAsync<R>(g: Reads<R>): Promise<R> {
  try {
    let r = g.next();
    while (!r.done) r = g.next((await r.value.data()) as Float32Array);
    return r.value;
  } finally {
    g.return(undefined as R);
  }
}

/**
 * `runSync` that lets the event loop run (a timer turn) after each `sliceMs` of reads (a number,
 * or a function asked at each read: a server shortens it while the thread is shared); on a
 * backend whose reads are asynchronous (WebGPU) every read is awaited.
 */
export async function runYielding<R>(
  g: Reads<R>,
  sliceMs: number | (() => number),
): Promise<R> {
  const slice = typeof sliceMs === "number" ? () => sliceMs : sliceMs;
  let t0 = performance.now();
  const sync = readsAreSync();
  try {
    let r = g.next();
    while (!r.done) {
      const values = (sync ? r.value.dataSync() : await r.value.data()) as Float32Array;
      if (performance.now() - t0 >= slice()) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        t0 = performance.now();
      }
      r = g.next(values);
    }
    return r.value;
  } finally {
    g.return(undefined as R);
  }
}

export type StreamScore = Score & { logprobs?: Float32Array };

/**
 * Score stream[1..] given stream[0..]. The stream is cut into `batch` contiguous columns run
 * side by side with the state carried across windows; the tail that does not fill a column
 * continues from the last column's final state, so every target is scored exactly once.
 */
export function scoreStream(
  params: Params,
  cfg: ModelConfig,
  stream: Int32Array,
  opts: ScoreOptions = {},
): StreamScore {
  return runSync(scoreReads(params, cfg, stream, opts));
}

/** `scoreStream` on any backend (the trainer's validation runs on WebGPU too). */
export function scoreStreamAsync(
  params: Params,
  cfg: ModelConfig,
  stream: Int32Array,
  opts: ScoreOptions = {},
): Promise<StreamScore> {
  return runAsync(scoreReads(params, cfg, stream, opts));
}

/**
 * `scoreStream` that lets the event loop run between its reads (after at least `sliceMs` of
 * work), so a server thread scoring a text still answers other requests meanwhile.
 */
export function scoreStreamYielding(
  params: Params,
  cfg: ModelConfig,
  stream: Int32Array,
  opts: ScoreOptions = {},
  sliceMs: number | (() => number) = 20,
): Promise<StreamScore> {
  return runYielding(scoreReads(params, cfg, stream, opts), sliceMs);
}

function* scoreReads(
  params: Params,
  cfg: ModelConfig,
  stream: Int32Array,
  opts: ScoreOptions,
): Reads<StreamScore> {
  const targetsTotal = stream.length - 1;
  if (targetsTotal < 1) {
    return {
      nll: 0,
      tokens: 0,
      perplexity: NaN,
      ...(opts.perToken ? { logprobs: new Float32Array(0) } : {}),
    };
  }
  const bptt = opts.bptt ?? 35;
  const b = columnCount(targetsTotal, opts.batch);
  const [from, to] = opts.columns ?? [0, b];
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= b)) {
    throw new Error(`columns [${from}, ${to}) are not within the stream's ${b} columns`);
  }
  const n = Math.floor(targetsTotal / b); // targets per column
  // The output matrix [H,V] is built once, not per window (a tied embedding's transpose
  // costs about as much as projecting 100 positions on wasm).
  const ownW = cfg.tieWeights;
  const outW = tf.keep(outputMatrix(params, cfg));
  const outB = params["output/b"] as Tensor1D;
  const logprobs = opts.perToken ? new Float32Array(targetsTotal) : undefined;
  let nll = 0, done = 0;
  // Column r covers inputs stream[r·n .. r·n+n−1] and targets stream[r·n+1 .. r·n+n].
  function* run(rows: number[], len: number, start: number, state: ModelState): Reads<ModelState> {
    const x = new Int32Array(rows.length * len), y = new Int32Array(rows.length * len);
    rows.forEach((r, k) => {
      x.set(stream.subarray(r + start, r + start + len), k * len);
      y.set(stream.subarray(r + start + 1, r + start + 1 + len), k * len);
    });
    const { next, hidden, yt } = tf.tidy(() => {
      const out = forwardHidden(params, cfg, tf.tensor2d(x, [rows.length, len], "int32"), state);
      const yt = tf.reshape(tf.transpose(tf.tensor2d(y, [rows.length, len], "int32")), [
        -1,
      ]) as Tensor1D;
      return {
        next: out.state.map((s) => ({ h: tf.keep(s.h), ...(s.c ? { c: tf.keep(s.c) } : {}) })),
        hidden: out.hidden,
        yt,
      };
    });
    let values: Float32Array;
    try {
      values = yield* projectedNllReads(hidden, yt, outW, outB); // time-major [len·rows]
    } finally {
      tf.dispose([hidden, yt]);
    }
    for (let t = 0; t < len; t++) {
      for (let k = 0; k < rows.length; k++) {
        const v = values[t * rows.length + k]!;
        nll += v;
        if (logprobs) logprobs[rows[k]! + start + t] = -v;
      }
    }
    done += rows.length * len;
    opts.onProgress?.(done, targetsTotal);
    disposeState(state);
    return next;
  }
  const rows = Array.from({ length: to - from }, (_, k) => (from + k) * n);
  let state = zeroState(cfg, rows.length);
  try {
    const fresh = (s: ModelState, k: number) => {
      if (!opts.resetEachWindow) return s;
      disposeState(s);
      return zeroState(cfg, k);
    };
    for (let i = 0; i < n; i += bptt) {
      const from = i === 0 ? state : fresh(state, rows.length);
      state = yield* run(rows, Math.min(bptt, n - i), i, from);
    }
    if (to === b) {
      // The tail continues the last column's stream.
      const last = rows.length - 1;
      const tailState: ModelState = tf.tidy(() =>
        state.map((s) => ({
          h: tf.slice(s.h, [last, 0], [1, -1]) as Tensor2D,
          ...(s.c ? { c: tf.slice(s.c, [last, 0], [1, -1]) as Tensor2D } : {}),
        }))
      );
      disposeState(state);
      state = tailState;
      for (let i = b * n; i < targetsTotal; i += bptt) {
        state = yield* run([0], Math.min(bptt, targetsTotal - i), i, fresh(state, 1));
      }
    }
  } finally {
    disposeState(state);
    if (ownW) outW.dispose();
  }
  return {
    nll,
    tokens: done,
    perplexity: Math.exp(nll / done),
    ...(logprobs ? { logprobs } : {}),
  };
}

/**
 * Positions projected at once: larger blocks of [rows, V] logits fall out of cache, and each
 * block is one read, the shortest a server thread's turn can be (runYielding): blocks of 256
 * rows held /health four times as long as blocks of 64 and scored a text no faster; 32 cost a
 * few percent more than 64, 16 a fifth more.
 */
const PROJECT_ROWS = 32;

/**
 * −log p(target) of each row of hidden [N,H] under logits hidden·W + b, in row blocks; a block
 * where some probability underflowed float32 is redone with `tokenNllExact`.
 */
export function projectedNll(
  hidden: Tensor2D,
  targets: Tensor1D,
  w: Tensor2D,
  bias: Tensor1D,
): Float32Array {
  return runSync(projectedNllReads(hidden, targets, w, bias));
}

function* projectedNllReads(
  hidden: Tensor2D,
  targets: Tensor1D,
  w: Tensor2D,
  bias: Tensor1D,
): Reads<Float32Array> {
  const n = hidden.shape[0];
  const out = new Float32Array(n);
  for (let r = 0; r < n; r += PROJECT_ROWS) {
    const k = Math.min(PROJECT_ROWS, n - r);
    const y = k === n ? targets : tf.slice(targets, [r], [k]) as Tensor1D;
    const logits = tf.tidy(() => {
      const h = k === n ? hidden : tf.slice(hidden, [r, 0], [k, -1]) as Tensor2D;
      return tf.fused.matMul({ a: h, b: w, bias }) as Tensor2D;
    });
    let nll = tokenNll(logits, y);
    try {
      let values = yield nll;
      if (!values.every(Number.isFinite)) {
        nll.dispose();
        nll = tokenNllExact(logits, y);
        values = yield nll;
      }
      out.set(values, r);
    } finally {
      tf.dispose([nll, logits, ...(y === targets ? [] : [y])]);
    }
  }
  return out;
}
