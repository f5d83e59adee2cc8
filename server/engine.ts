/**
 * Continuous batching: every active generation advances in one batched decoder step; a new
 * request joins at the next step, and one that finishes or whose client left is dropped from
 * the batch before the next. Each stream samples with its own PRNG, so a seeded request gives
 * the same text alone or batched.
 *
 *   step k:   [s0 s1 s2]      ← one [3,H]·[H,V] product, one read of [3,V] logits
 *   step k+1: [s0 s2 s3]      ← s1 finished, s3 joined with its prompt already read
 */
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import { disposeState, forwardHidden, type ModelState, zeroState } from "../shared/model.ts";
import type { Params } from "../shared/model.ts";
import { createPrng, type Prng } from "../shared/prng.ts";
import {
  drawWeighted,
  logSumExp,
  type SampleOptions,
  sampleToken,
  topK,
} from "../shared/sample.ts";
import { ApiError } from "./errors.ts";
import type { Decoder } from "./decoder.ts";
import { yieldTask } from "./yield.ts";

export interface SampledToken {
  id: number;
  /** log p(id) under the model (temperature 1, no truncation). */
  logprob: number;
  /** The most likely tokens at this position as [id, logprob], when asked for. */
  top?: [number, number][];
}

export interface Job {
  /** Context ids; all but the last are read as the prompt, the last is the first step's input. */
  context: Int32Array;
  sampling: SampleOptions;
  seed: number;
  /** How many most likely alternatives to report per token (0: none). */
  topLogprobs?: number;
  signal?: AbortSignal;
  /** Called per sampled token; return false to end the generation. */
  onToken(token: SampledToken): boolean;
}

/** How a job ended: it said stop, its client left, or the engine failed. */
export type JobEnd = "finished" | "aborted";

export interface EngineStats {
  active: number;
  queued: number;
}

/**
 * The one answer to "no room for this request": a 429 with Retry-After, whether the route's
 * admission check or the engine itself finds the batch and queue full.
 */
export class EngineBusyError extends ApiError {
  constructor(readonly retryAfterS: number, message = "The server is at capacity; retry later") {
    super(429, "rate_limit_error", message, null, { "retry-after": String(retryAfterS) });
  }
}

export interface EngineOptions {
  /** Generations advanced together (the batch size cap). */
  maxActive: number;
  /** Requests waiting for a place in the batch; past this, submit throws EngineBusyError. */
  maxQueue: number;
  /** Called after each step with the batch size and its duration. */
  onStep?: (batch: number, seconds: number) => void;
}

export interface Engine {
  submit(job: Job): Promise<JobEnd>;
  /** Whether `n` more jobs fit in the batch and queue now. */
  canAccept(n: number): boolean;
  stats(): EngineStats;
  /** End every stream with `err` and refuse new jobs (the backend can no longer be trusted). */
  close(err: Error): void;
}

interface Stream {
  job: Job;
  prng: Prng;
  input: number;
  /** The prompt's state while waiting to join the batch, [1,H] per layer. */
  joining?: ModelState;
  /** Prompt ids read into `joining` so far. */
  read: number;
  done: (end: JobEnd) => void;
  fail: (err: Error) => void;
  ended: boolean;
}

/**
 * Prompt tokens read per tick, across the streams waiting to join: a chunk takes about as long
 * as a batched step, so neither the streams already generating nor /health wait long.
 */
export const PREFILL_TOKENS = 128;

export function createEngine(
  params: Params,
  decoder: Decoder,
  opts: EngineOptions,
): Engine {
  const cfg = decoder.cfg;
  const queue: Stream[] = [];
  let active: Stream[] = [];
  let state: ModelState | undefined; // rows aligned with `active`
  let running = false;
  let closed: Error | undefined;

  const end = (s: Stream, how: JobEnd | Error) => {
    if (s.ended) return;
    s.ended = true;
    if (s.joining) disposeState(s.joining);
    s.joining = undefined;
    if (how instanceof Error) s.fail(how);
    else s.done(how);
  };

  /**
   * Read up to `budget` more of the prompt (all context ids but the last) into `s.joining`;
   * returns how many were read. A long prompt is read over several ticks, so the batch keeps
   * stepping between its chunks and the wasm heap holds one chunk's activations at a time.
   */
  const prefill = (s: Stream, budget: number): number => {
    const ctx = s.job.context;
    const n = ctx.length - 1;
    s.input = ctx[n]!;
    s.joining ??= zeroState(cfg, 1);
    const k = Math.min(budget, n - s.read);
    if (k <= 0) return 0;
    const prev = s.joining;
    s.joining = tf.tidy(() => {
      const x = tf.tensor2d(ctx.subarray(s.read, s.read + k), [1, k], "int32");
      const out = forwardHidden(params, cfg, x, prev).state;
      return out.map((l) => ({ h: tf.keep(l.h), ...(l.c ? { c: tf.keep(l.c) } : {}) }));
    });
    disposeState(prev);
    s.read += k;
    return k;
  };

  /** Rebuild the batch state for `keep` (indices into the old batch) plus the joiners. */
  const regroup = (keep: number[], joiners: Stream[]): void => {
    const old = state;
    const parts = (l: number, k: "h" | "c"): Tensor2D[] => {
      const out: Tensor2D[] = [];
      const o = old?.[l]?.[k];
      if (o && keep.length > 0) {
        out.push(
          keep.length === o.shape[0] ? o : tf.gather(o, tf.tensor1d(keep, "int32")) as Tensor2D,
        );
      }
      for (const j of joiners) out.push(j.joining![l]![k]!);
      return out;
    };
    state = tf.tidy(() =>
      Array.from({ length: cfg.layers }, (_, l) => {
        const h = tf.keep(tf.concat(parts(l, "h"), 0)) as Tensor2D;
        if (!(old?.[0]?.c ?? joiners[0]?.joining?.[0]?.c)) return { h };
        return { h, c: tf.keep(tf.concat(parts(l, "c"), 0)) as Tensor2D };
      })
    );
    if (old) disposeState(old);
    for (const j of joiners) {
      disposeState(j.joining!);
      j.joining = undefined;
    }
  };

  /** Drop streams that ended or whose client left; let waiting ones join if `admit`. */
  const regroupActive = (admit: boolean): void => {
    const keep: number[] = [];
    active.forEach((s, i) => {
      if (s.job.signal?.aborted) end(s, "aborted");
      if (!s.ended) keep.push(i);
    });
    for (const s of queue) if (s.job.signal?.aborted) end(s, "aborted");
    const waiting = queue.filter((s) => !s.ended);
    queue.length = 0;
    // Join: as many waiting streams as there is room for, prompts read one by one, at most
    // PREFILL_TOKENS of them per tick; a stream whose prompt is not read yet stays first.
    const joiners: Stream[] = [];
    let budget = PREFILL_TOKENS;
    while (admit && keep.length + joiners.length < opts.maxActive && waiting.length > 0) {
      const s = waiting[0]!;
      try {
        budget -= prefill(s, budget);
        if (s.read < s.job.context.length - 1) break;
        joiners.push(waiting.shift()!);
      } catch (err) {
        end(waiting.shift()!, err as Error);
      }
    }
    queue.push(...waiting);
    if (joiners.length === 0 && keep.length === active.length) return;
    const stayed = keep.map((i) => active[i]!);
    if (stayed.length + joiners.length === 0) {
      if (state) disposeState(state);
      state = undefined;
    } else regroup(keep, joiners);
    active = [...stayed, ...joiners];
  };

  const tick = (): void => {
    regroupActive(true);
    if (active.length === 0) return;
    // Step: one batched product for every active stream.
    const t0 = performance.now();
    const ids = Int32Array.from(active, (s) => s.input);
    const out = decoder.step(ids, state!);
    disposeState(state!);
    state = out.state;
    try {
      const rows = readRows(out.logits, active);
      for (const [i, s] of active.entries()) {
        try {
          const token = rows.sample(i, s);
          s.input = token.id;
          if (!s.job.onToken(token)) end(s, "finished");
        } catch (err) {
          end(s, err as Error);
        }
      }
    } finally {
      out.logits.dispose();
    }
    opts.onStep?.(active.length, (performance.now() - t0) / 1000);
    // Free finished streams' rows now, before their callers look at the engine again.
    regroupActive(false);
  };

  const loop = async (): Promise<void> => {
    running = true;
    try {
      while (active.length > 0 || queue.length > 0) {
        try {
          tick();
        } catch (err) {
          // A failed step fails every stream in it; the engine itself carries on.
          for (const s of [...active, ...queue]) end(s, err as Error);
          active = [];
          queue.length = 0;
          if (state) disposeState(state);
          state = undefined;
        }
        await yieldTask();
      }
    } finally {
      running = false;
    }
  };

  const canAccept = (n: number) =>
    !closed && active.length + queue.length + n <= opts.maxActive + opts.maxQueue;
  return {
    canAccept,
    submit(job) {
      if (closed) throw closed;
      if (!canAccept(1)) {
        throw new EngineBusyError(1);
      }
      if (job.context.length < 1) throw new Error("A job needs at least one context id");
      return new Promise<JobEnd>((resolve, reject) => {
        queue.push({
          job,
          prng: createPrng(job.seed),
          input: 0,
          read: 0,
          done: resolve,
          fail: reject,
          ended: false,
        });
        if (!running) void loop();
      });
    },
    stats: () => ({ active: active.length, queued: queue.length }),
    close(err) {
      closed = err;
      for (const s of [...active, ...queue]) {
        s.joining = undefined; // in a heap that may be corrupt: not touched again
        end(s, err);
      }
      active = [];
      queue.length = 0;
      state = undefined;
    },
  };
}

interface BatchRows {
  /** Draw row i's token for stream s, with its log-probability (and alternatives). */
  sample(i: number, s: Stream): SampledToken;
}

/**
 * Everything sampling needs from a step's logits [B,V], computed on the backend for the whole
 * batch in one softmax kernel: each row's probabilities at its own temperature (T = 1 for greedy
 * rows), read once. (In JS, two Math.exp passes over every row took as long as the batched
 * product itself at 32 streams; max, sub, exp, sum and log as separate ops took 4.8 ms at 32
 * streams where the softmax kernel takes 1.0 ms.) A row's weights depend only on its own logits
 * and temperature, so a seeded stream draws the same tokens alone or in any batch. At T = 1 the
 * log-probability is log p itself; other temperatures read the raw logits and log Σ exp(logits),
 * as do rows whose allowed weights all underflowed (a very low temperature with `<unk>` on top).
 */
function readRows(logits: Tensor2D, active: Stream[]): BatchRows {
  const [b, v] = logits.shape;
  const inv = Float32Array.from(active, (s) => {
    const t = s.job.sampling.temperature;
    return t > 0 ? 1 / t : 1;
  });
  const allOnes = inv.every((x) => x === 1);
  // tidy returns the tensors, read after: tidy walks a returned object's typed arrays
  // element by element, which for [B,V] weights costs more than the whole step.
  const t = tf.tidy(() => [
    tf.softmax(allOnes ? logits : tf.mul(logits, tf.tensor2d(inv, [b, 1]))),
    ...(allOnes ? [] : [tf.logSumExp(logits, 1)]),
  ]);
  const [p, lseT] = t.map((x) => x.dataSync() as Float32Array) as [Float32Array, Float32Array?];
  tf.dispose(t);
  // Read on first use; the caller keeps `logits` alive until every row is sampled.
  let raw: Float32Array | undefined;
  const rawRow = (i: number) =>
    (raw ??= logits.dataSync() as Float32Array).subarray(i * v, (i + 1) * v);
  const lse = (i: number) => lseT?.[i] ?? logSumExp(rawRow(i));
  return {
    sample(i, s) {
      const weights = p.subarray(i * v, (i + 1) * v);
      const atOne = inv[i] === 1;
      const k = s.job.topLogprobs ?? 0;
      // Alternatives before drawing: drawWeighted zeroes excluded ids' weights in place.
      // The alternatives leave out what sampling excludes (<unk>): no stream can write them.
      const excluded = s.job.sampling.exclude ?? [];
      const best = (row: Float32Array) =>
        topK(row, k + excluded.length).filter(([j]) => !excluded.includes(j)).slice(0, k);
      const top: [number, number][] | undefined = k === 0
        ? undefined
        : atOne
        ? best(weights).map(([j, x]) => [j, Math.log(x)])
        : best(rawRow(i)).map(([j, x]) => [j, x - lse(i)]);
      let id = drawWeighted(weights, s.job.sampling, s.prng);
      let logprob = atOne && id >= 0 ? Math.log(weights[id]!) : NaN;
      // Other temperatures, and draws whose weights all underflowed, use the raw logits.
      if (!Number.isFinite(logprob)) {
        const row = rawRow(i);
        if (id < 0) id = sampleToken(row, s.job.sampling, s.prng);
        logprob = row[id]! - lse(i);
      }
      const token: SampledToken = { id, logprob };
      if (top) token.top = top;
      return token;
    },
  };
}
