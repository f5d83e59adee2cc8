/**
 * Continuous batching: every active generation advances in one batched decoder step; a new
 * request joins at the next step, and one that finishes or whose client left is dropped from
 * the batch before the next. Each stream samples with its own PRNG, so a seeded request gives
 * the same text alone or batched.
 *
 *   step k:   [s0 s1 s2]      ← one [3,H]·[H,V] product, one read of [3,V] logits
 *   step k+1: [s0 s2 s3]      ← s1 finished, s3 joined with its prompt already read
 *
 * This file holds the queue and the loop; batch_state.ts reads prompts and stacks the batch's
 * state, batch_rows.ts samples each row of a step's logits.
 */
import { disposeState, type ModelState } from "../shared/model.ts";
import { readsAreSync } from "../shared/tf.ts";
import type { Params } from "../shared/model.ts";
import { createPrng } from "../shared/prng.ts";
import { type BatchRows, readRows, readRowsAsync } from "./batch_rows.ts";
import type { Job, JobEnd, Stream } from "./stream.ts";
import { prefill, regroup } from "./batch_state.ts";
import { ApiError } from "./errors.ts";
import type { Decoder } from "./decoder.ts";
import { sharing, yieldTask } from "./yield.ts";

export type { Job, JobEnd, SampledToken, Stream } from "./stream.ts";

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
  /**
   * Read each step's logits with `data()` rather than `dataSync()`: needed on WebGPU (in a
   * browser tab a synchronous read returns zeros). Default: on any backend but wasm, cpu and
   * tensorflow, whose reads are synchronous.
   */
  asyncReads?: boolean;
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
        budget -= prefill(params, cfg, s, budget);
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
    } else state = regroup(cfg, state, keep, joiners);
    active = [...stayed, ...joiners];
  };

  const asyncReads = opts.asyncReads ?? !readsAreSync();

  /** One batched step; a promise when its logits are read asynchronously. */
  const tick = (): void | Promise<void> => {
    regroupActive(true);
    if (active.length === 0) return;
    // Step: one batched product for every active stream.
    const t0 = performance.now();
    const ids = Int32Array.from(active, (s) => s.input);
    const out = decoder.step(ids, state!);
    disposeState(state!);
    state = out.state;
    const sampleAll = (rows: BatchRows) => {
      for (const [i, s] of active.entries()) {
        try {
          const token = rows.sample(i, s);
          s.input = token.id;
          if (!s.job.onToken(token)) end(s, "finished");
        } catch (err) {
          end(s, err as Error);
        }
      }
    };
    const after = () => {
      opts.onStep?.(active.length, (performance.now() - t0) / 1000);
      // Free finished streams' rows now, before their callers look at the engine again.
      regroupActive(false);
    };
    if (!asyncReads) {
      try {
        sampleAll(readRows(out.logits, active));
      } finally {
        out.logits.dispose();
      }
      return after();
    }
    const batch = active;
    return readRowsAsync(out.logits, batch).then((rows) => {
      // close() may have ended every stream while the read was under way.
      if (closed || batch !== active) return;
      sampleAll(rows);
      after();
    }).finally(() => out.logits.dispose());
  };

  const loop = async (): Promise<void> => {
    running = true;
    const done = sharing();
    try {
      while (active.length > 0 || queue.length > 0) {
        try {
          const stepped = tick();
          if (stepped) await stepped;
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
      done();
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
